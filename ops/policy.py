from projects.policy import User


def may_see_operations(user: User) -> bool:
    return bool(user and user.is_active and user.is_staff)
