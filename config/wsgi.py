import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import every view now, then keep what start-up made out of the garbage collector's way:
# a full collection otherwise walks the hundreds of thousands of objects that Django, DRF
# and plotly create at import, some 80 ms in the middle of a request.
get_resolver().url_patterns  # noqa: B018 (imports the URLconf and with it every view)
gc.freeze()
