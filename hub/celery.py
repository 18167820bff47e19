import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("passerelle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def prepare_before_forking(**_kwargs: object) -> None:
    """In the worker's main process, before the pool forks: the children inherit what is
    loaded here (see notifications.channels.delivery_prepare)."""
    import django

    django.setup()
    from notifications.channels import delivery_prepare

    delivery_prepare()
