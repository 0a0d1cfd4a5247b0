from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "analytics.review"
    label = "review"
    verbose_name = "Human review"
