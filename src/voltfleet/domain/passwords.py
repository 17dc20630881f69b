"""Password rules, as the inverter clouds state them: 6 to 18 characters with an upper-case
letter, a lower-case letter, a digit and a special character."""

from __future__ import annotations

MIN_LENGTH = 6
MAX_LENGTH = 18


def password_problems(password: str) -> list[str]:
    """What is wrong with a password, in words a person understands; empty when it is fine."""
    problems: list[str] = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    if not any(c.isupper() for c in password):
        problems.append("needs an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("needs a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("needs a digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append("needs a special character such as !@#$%")
    if any(c.isspace() for c in password):
        problems.append("must not contain spaces")
    return problems
