from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=5, time_limit=10)
def ping() -> str:
    """Does nothing: measures the worker's bare task throughput (benchmarks) and lets an
    operator check that a worker consumes from the broker."""
    return "pong"
