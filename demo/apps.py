from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo people, teams and campaigns, and `manage.py seed_demo`. No models."""

    name = "demo"
