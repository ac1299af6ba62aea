"""The API's request parsers. Kept apart from `core.api`, which imports DRF's views: DRF reads
this module while it builds `APIView`, so it may import nothing that needs that class."""

import io

from django.conf import settings
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
        body = stream.read()
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        # In UTF-8 JSON a NUL can only be the escape \u0000: without it in the body there is
        # nothing to look for, and a batch of thousands of values is not walked for nothing.
        may_hold_nul = encoding.lower().replace("-", "") != "utf8" or b"\\u0000" in body
        if may_hold_nul and _holds_nul(data):
            raise exceptions.ParseError("Text may not contain NUL characters (\\u0000).")
        return data
