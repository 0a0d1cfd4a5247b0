from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"


class AdminConfig(admin_apps.AdminConfig):
    """The Django admin on Scoop's site, whose login has the failed sign-in lockout."""

    # Not the default config of this module: that stays AccountsConfig for "accounts".
    default = False
    default_site = "accounts.lockout.AdminSite"
