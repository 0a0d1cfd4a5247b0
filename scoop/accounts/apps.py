from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "scoop.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"
