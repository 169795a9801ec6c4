from django.apps import AppConfig


class AtendeConfig(AppConfig):
    name = "atende"
    verbose_name = "Atende"
