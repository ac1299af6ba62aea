from django.conf import settings
from django.db import models


class DemoLogin(models.Model):
    """A demo user whose password `load_demo` set to the documented demo password: the login
    page of a development portal lists these. A user who is not one keeps whatever it has."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demo_login"
    )
    password_set_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Demo login of {self.user.get_username()}"
