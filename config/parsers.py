"""The API's request parsers. Kept apart from `config.api`, which imports DRF's views: DRF reads
this module while it builds `APIView`, so it may import nothing that needs that class."""

from rest_framework import exceptions, parsers


def _holds_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(key) or _holds_nul(value) for key, value in data.items())
    if isinstance(data, list):
        return any(_holds_nul(item) for item in data)
    return False


class JSONParser(parsers.JSONParser):
    """JSON bodies, refused whole if any text in them holds a NUL character: no database
    stores one in text, and no field means one."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _holds_nul(data):
            raise exceptions.ParseError("Text may not contain NUL characters (\\u0000).")
        return data
