import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")

from atende.handlers import freeze_startup_objects, wsgi_router

# /webhooks/ with the short middleware list (atende/handlers.py), the rest as usual.
application = wsgi_router(get_wsgi_application())

freeze_startup_objects()
