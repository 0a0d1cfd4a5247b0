"""Accounts: users, their roles (Django groups) and API tokens, and the sign-in lockout.

The apps' API views check permissions with :mod:`accounts.roles`, so this app sits
below them and imports none of Scoop's other packages."""
