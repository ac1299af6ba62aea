from django import forms

from plans.markdown import reader
from projects.forms import DATE


class PlanImportForm(forms.Form):
    """A Markdown plan to import: uploaded or pasted, and where its calendar starts."""

    file = forms.FileField(required=False, label="Upload a Markdown file")
    text = forms.CharField(
        required=False,
        label="…or paste the plan",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )
    start_date = forms.DateField(
        widget=DATE, help_text="Week 1, Month 1 and Day 1 of the plan start on this day."
    )
    code = forms.SlugField(
        required=False,
        max_length=40,
        help_text="Short identifier, e.g. AAD. Left empty, it is taken from the plan's name.",
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text", "")
        if upload and text.strip():
            raise forms.ValidationError("Upload a file or paste the plan, not both.")
        if not upload and not text.strip():
            raise forms.ValidationError("Upload a Markdown file or paste the plan's text.")
        # What is wrong with the file or the text shows beside it.
        where = "file" if upload else "text"
        if upload and upload.size > reader.MAX_BYTES:
            self.add_error(
                where,
                f"The file is {upload.size:,} bytes; plans up to {reader.MAX_BYTES:,} are read.",
            )
            return cleaned
        try:
            cleaned["source"] = reader.decode(upload.read() if upload else text)
        except reader.NotAPlan as error:
            self.add_error(where, str(error))
        return cleaned
