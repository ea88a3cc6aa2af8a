from django.db import migrations


def default_attributes(apps, schema_editor):
    from contacts.attributes import DEFAULT_ATTRIBUTES

    Company = apps.get_model("accounts", "Company")
    Attribute = apps.get_model("contacts", "Attribute")
    for company in Company.objects.all():
        existing = set(Attribute.objects.filter(company=company).values_list("key", flat=True))
        Attribute.objects.bulk_create([
            Attribute(company=company, key=key, name=name, type=type_, values=values, show_in_profile=profile,
                      position=i)
            for i, (key, name, type_, values, profile) in enumerate(DEFAULT_ATTRIBUTES) if key not in existing])


def gin_index(apps, schema_editor):
    # Attribute filters and target counts on PostgreSQL use JSONB containment / key checks.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS contacts_contact_attributes_gin "
                              "ON contacts_contact USING gin (attributes jsonb_path_ops)")
        schema_editor.execute("CREATE INDEX IF NOT EXISTS contacts_contact_attributes_keys_gin "
                              "ON contacts_contact USING gin (attributes)")


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contacts_contact_attributes_gin")
        schema_editor.execute("DROP INDEX IF EXISTS contacts_contact_attributes_keys_gin")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial"), ("accounts", "0003_tenant_related_names")]
    operations = [
        migrations.RunPython(default_attributes, migrations.RunPython.noop),
        migrations.RunPython(gin_index, drop_gin_index),
    ]
