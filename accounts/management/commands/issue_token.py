from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ROLES
from accounts.services import user_issue_token


class Command(BaseCommand):
    help = "Create USERNAME if needed, give it ROLE, and print its API token as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--rotate", action="store_true", help="replace the user's existing token")

    def handle(self, *args, username: str, role: str, rotate: bool, **options):
        try:
            token = user_issue_token(username=username, role=role, rotate=rotate)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"{username} has role {role}. Send: Authorization: Token <token>")
        self.stdout.write(token.key)
