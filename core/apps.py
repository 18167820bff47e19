from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from celery import signals

        from core import beat, logs

        # dispatch_uid: ready() may run more than once (tests), a receiver must not.
        signals.task_success.connect(beat.on_task_success, dispatch_uid="core.beat.success")
        signals.task_failure.connect(beat.on_task_failure, dispatch_uid="core.beat.failure")
        # With a receiver connected, Celery's worker and beat leave logging as Django set
        # it up from settings.LOGGING instead of installing handlers of their own.
        signals.setup_logging.connect(logs.keep_django_logging, dispatch_uid="core.logs")
