import os

from django.core.wsgi import get_wsgi_application

from patron.utils.gc_tuning import tune_for_serving

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
application = get_wsgi_application()
tune_for_serving()
