"""The Django admin: the audit log, read-only, and users whose role changes are audited."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import AuditEvent
from accounts.roles import user_roles
from accounts.services import user_roles_changed


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log at /admin/accounts/auditevent/: admins read it; nobody edits it."""

    list_display = ["at", "actor_name", "action", "target", "target_name"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target", "target_name"]
    readonly_fields = ["at", "actor", "actor_name", "action", "target", "target_name", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user pages; a change of groups or of the superuser flag is a change of
    roles, recorded in the audit log as done by the admin who saved it."""

    def save_model(self, request, obj, form, change):
        # The roles as stored, before the form's values are saved (kept on the form: this
        # admin object serves every request at once).
        form.roles_before = user_roles(User.objects.get(pk=obj.pk)) if change else set()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user_roles_changed(user=form.instance, before=form.roles_before, actor=request.user, via="admin")
