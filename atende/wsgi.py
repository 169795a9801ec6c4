import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")

from atende.handlers import wsgi_router

# /webhooks/ with the short middleware list (atende/handlers.py), the rest as usual.
application = wsgi_router(get_wsgi_application())

# Everything loaded so far (Django, the apps, models, settings, this module's imports:
# ~200,000 objects) lives as long as the process. Freezing it keeps the collector's full
# passes to what requests allocate: they took 100-200 ms every ~15 requests of the
# metrics dashboard (a p95 spike), 1-3 ms frozen (bench/README.md, metrics).
gc.freeze()
