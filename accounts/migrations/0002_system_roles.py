from django.db import migrations


def create_system_roles(apps, schema_editor):
    from portal.permissions import SYSTEM_ROLES

    Role = apps.get_model("accounts", "Role")
    for code, (name, description, _perms) in SYSTEM_ROLES.items():
        Role.objects.update_or_create(company=None, system_code=code,
                                      defaults={"name": str(name), "description": str(description)})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_system_roles, migrations.RunPython.noop)]
