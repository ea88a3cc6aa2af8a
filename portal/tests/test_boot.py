import pytest

from accounts.models import Role


@pytest.mark.django_db
def test_system_roles_exist_after_migrate():
    assert set(Role.objects.filter(company=None).values_list("system_code", flat=True)) == {
        "admin", "broadcast_manager", "finance_manager", "noc_engineer"}
