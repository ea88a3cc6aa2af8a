"""Mass edit (spec P§6.5, rule 2): the mode on the list, the selection (rows, a target,
all records with the list's filters), add tags, set and clear values, delete — never all
contacts — and never another company's contacts, even with forged ids."""

import pytest

from contacts import services
from contacts.models import Contact
from portal.audit import Actor
from portal.testing import factories

URL = "/contacts/mass-edit/"


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


@pytest.fixture
def people(company, actor):
    rows = [("+34612345671", {"name": "Ana", "age": 34, "city": "Madrid"}),
            ("+34612345672", {"name": "Bea", "age": 17, "city": "Bilbao"}),
            ("+34612345673", {"name": "Carl", "age": 61}),
            ("+34612345674", {"name": "Dan", "age": 45})]
    return {a["name"]: services.create_contact(actor=actor, company=company, phone=p, attributes=a) for p, a in rows}


@pytest.fixture
def theirs(other_company):
    return services.create_contact(actor=Actor.system(other_company), company=other_company, phone="+34612345671",
                                   attributes={"name": "Globex", "city": "Paris"})


def ids(*contacts):
    return ",".join(str(c.pk) for c in contacts)


def fresh(contact):
    return Contact.objects.get(pk=contact.pk)


def tags_of(contact):
    return sorted(contact.tags.values_list("name", flat=True))


def test_the_mode_adds_checkboxes_and_the_selection_bar(admin_client, people):
    html = admin_client.get("/contacts/").content.decode()
    assert "data-select-row value=" not in html and 'data-testid="mass-edit-bar"' not in html
    html = admin_client.get("/contacts/?mass_edit=1&attr_age__min=18").content.decode()
    assert html.count("data-select-row value=") == 3 and "<input type=\"checkbox\" data-select-page" in html
    assert 'data-testid="mass-edit-bar"' in html and "Select all records" in html and "Disable mass edit" in html
    assert 'name="filters" value="attr_age__min=18"' in html
    assert "massSelect(3, false," in html  # "all records" counts the filtered rows


def test_the_form_shows_the_selection_and_its_count(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"], people["Bea"])})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 contacts selected." in html
    assert f'name="ids" value="{ids(people["Ana"], people["Bea"])}"' in html
    assert "Save contacts" in html and "Delete contacts" in html and "Delete attribute values" in html
    assert 'name="attr_city"' in html and 'name="clear"' in html


def test_add_tags_and_set_values_on_selected_rows(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"], people["Bea"]),
                                       "action": "save", "tags": ["spring", "vip"], "attr_city": "Sevilla",
                                       "attr_age": "", "attr_name": ""})
    assert response.status_code == 302 and response.url == "/contacts/?mass_edit=1"
    for name in ("Ana", "Bea"):
        contact = fresh(people[name])
        assert tags_of(contact) == ["spring", "vip"]
        assert contact.attributes["city"] == "Sevilla" and contact.attributes["name"] == name  # empty = unchanged
    assert fresh(people["Carl"]).attributes == {"name": "Carl", "age": 61}
    assert "2 contacts edited." in admin_client.get("/contacts/").content.decode()


def test_clear_values_with_the_switch(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"], people["Bea"]),
                                       "action": "save", "clear_values": "on", "clear": ["city", "age"],
                                       "attr_city": "ignored while clearing"})
    assert response.status_code == 302
    assert fresh(people["Ana"]).attributes == {"name": "Ana"}
    assert fresh(people["Bea"]).attributes == {"name": "Bea"}
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"]), "action": "save",
                                       "clear_values": "on"})
    assert response.status_code == 422 and "Tick the attributes to clear." in response.content.decode()


def test_wrong_values_and_empty_edits_are_refused(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"]), "action": "save",
                                       "attr_age": "old"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "is not a number" in html.split('name="attr_age"')[1].split('class="field')[0]
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"]), "action": "save"})
    assert response.status_code == 422 and "Nothing to change" in response.content.decode()
    assert fresh(people["Ana"]).attributes["age"] == 34


def test_select_a_target(admin_client, company, actor, people):
    target = services.create_target(actor=actor, company=company, name="Adults",
                                    filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    html = admin_client.post(URL, {"selection": "target", "target": target.pk}).content.decode()
    assert "3 contacts selected." in html and "(target “Adults”)" in html and "Delete contacts" in html
    admin_client.post(URL, {"selection": "target", "target": target.pk, "action": "save", "tags": ["adult"]})
    assert [n for n, c in people.items() if tags_of(c) == ["adult"]] == ["Ana", "Carl", "Dan"]


def test_select_all_records_with_the_lists_filters(admin_client, people):
    html = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=40"}).content.decode()
    assert "2 contacts selected." in html and "Delete contacts" in html  # filtered: not every contact
    admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=40", "action": "save", "tags": ["40+"]})
    assert [n for n, c in people.items() if tags_of(c)] == ["Carl", "Dan"]


def test_all_records_can_be_edited_but_not_deleted(admin_client, people):
    html = admin_client.post(URL, {"selection": "all", "filters": "sort=-id"}).content.decode()
    assert "4 contacts selected." in html and "(all records)" in html
    assert 'value="delete"' not in html  # *Delete contacts* is not offered (spec rule 2)
    admin_client.post(URL, {"selection": "all", "action": "save", "tags": ["everyone"]})
    assert all(tags_of(c) == ["everyone"] for c in people.values())
    response = admin_client.post(URL, {"selection": "all", "action": "delete"})
    assert response.status_code == 403
    assert Contact.objects.count() == 4


def test_deleting_every_contact_row_by_row_is_refused_too(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(*people.values()), "action": "delete"})
    assert response.status_code == 403
    assert "Deleting all contacts at once is not allowed." in response.content.decode()
    response = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=0", "action": "delete"})
    assert response.status_code == 403
    assert Contact.objects.count() == 4


def test_delete_selected(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(people["Ana"], people["Bea"]),
                                       "action": "delete"})
    assert response.status_code == 302
    assert sorted(Contact.objects.values_list("attributes__name", flat=True)) == ["Carl", "Dan"]
    assert "2 contacts deleted." in admin_client.get("/contacts/").content.decode()


def test_forged_ids_never_touch_another_company(admin_client, people, theirs):
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(theirs, people["Ana"]), "action": "save",
                                       "attr_city": "Lugo", "tags": ["x"]})
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.attributes["city"] == "Paris" and tags_of(theirs) == []
    assert fresh(people["Ana"]).attributes["city"] == "Lugo"
    admin_client.post(URL, {"selection": "ids", "ids": ids(theirs, people["Bea"]), "action": "delete"})
    assert Contact.objects.filter(pk=theirs.pk).exists() and not Contact.objects.filter(pk=people["Bea"].pk).exists()
    html = admin_client.post(URL, {"selection": "ids", "ids": ids(theirs)}).content.decode()
    assert "0 contacts selected." in html
    # "all records" is the user's company only
    admin_client.post(URL, {"selection": "all", "action": "save", "attr_city": "Vigo"})
    theirs.refresh_from_db()
    assert theirs.attributes["city"] == "Paris"


def test_another_companys_target_answers_404(admin_client, other_company, people, theirs):
    target = services.create_target(actor=Actor.system(other_company), company=other_company, name="Theirs",
                                    filters=[])
    response = admin_client.post(URL, {"selection": "target", "target": target.pk, "action": "save", "tags": ["x"]})
    assert response.status_code == 404
    assert not any(tags_of(c) for c in people.values())


def test_bad_selections(admin_client, people):
    response = admin_client.post(URL, {"selection": "ids", "ids": ""})
    assert response.status_code == 302 and response.url == "/contacts/?mass_edit=1"
    assert "Select at least one contact." in admin_client.get("/contacts/").content.decode()
    response = admin_client.post(URL, {"selection": "target", "target": "abc"})
    assert response.status_code == 404
    response = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=old", "action": "save",
                                       "tags": ["x"]})
    assert response.status_code == 302
    assert not any(tags_of(c) for c in people.values())
    assert admin_client.get(URL).status_code == 405


def test_mass_edit_needs_manage_contacts(client, company, people):
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    response = client.post(URL, {"selection": "ids", "ids": ids(people["Ana"]), "action": "delete"})
    assert response.status_code == 403
    assert Contact.objects.filter(pk=people["Ana"].pk).exists()


# --- large selections run in the background (HERALD_MASS_EDIT_SYNC_LIMIT) ---------------------------

from contacts.models import MassEditJob, MassEditStatus  # noqa: E402
from portal.models import AuditEvent  # noqa: E402


@pytest.fixture
def small_limit(settings):
    settings.HERALD_MASS_EDIT_SYNC_LIMIT = 3


def test_below_the_limit_nothing_is_queued(admin_client, people, settings):
    settings.HERALD_MASS_EDIT_SYNC_LIMIT = 4
    response = admin_client.post(URL, {"selection": "all", "action": "save", "tags": ["now"]})
    assert response.status_code == 302 and response.url == "/contacts/?mass_edit=1"
    assert not MassEditJob.objects.exists()
    assert all(tags_of(c) == ["now"] for c in people.values())
    assert "4 contacts edited." in admin_client.get("/contacts/").content.decode()


def test_above_the_limit_a_job_edits_the_selection(admin_client, company, people, theirs, small_limit,
                                                   django_capture_on_commit_callbacks):
    before = AuditEvent.objects.filter(company=company).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, {"selection": "all", "filters": "sort=-id", "action": "save",
                                           "tags": ["big"], "attr_city": "Soria"})
    job = MassEditJob.objects.get()
    assert response.status_code == 302 and response.url == f"/contacts/mass-edit/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == MassEditStatus.DONE and job.company == company and job.selection["mode"] == "all"
    assert (job.total, job.processed, job.tagged, job.changed) == (4, 4, 4, 4)
    assert all(tags_of(c) == ["big"] and fresh(c).attributes["city"] == "Soria" for c in people.values())
    theirs.refresh_from_db()
    assert theirs.attributes["city"] == "Paris" and tags_of(theirs) == []
    assert AuditEvent.objects.filter(company=company).count() == before + 1  # once per job
    html = admin_client.get(response.url).content.decode()
    assert 'data-status="done"' in html and "4 contacts edited." in html and "hx-get" not in html
    assert 'href="/contacts/?mass_edit=1"' in html


def test_a_job_with_a_target_and_wrong_values(admin_client, company, actor, people, small_limit,
                                              django_capture_on_commit_callbacks):
    response = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=0", "action": "save",
                                       "attr_age": "old"})
    assert response.status_code == 422 and not MassEditJob.objects.exists()  # checked before queueing
    target = services.create_target(actor=actor, company=company, name="Aged",
                                    filters=[{"field": "attribute:age", "mode": "range", "to": 70}])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(URL, {"selection": "target", "target": target.pk, "action": "save", "clear_values": "on",
                                "clear": ["city"]})
    assert MassEditJob.objects.get().status == MassEditStatus.DONE
    assert fresh(people["Ana"]).attributes == {"name": "Ana", "age": 34}
    assert fresh(people["Bea"]).attributes == {"name": "Bea", "age": 17}


def test_a_job_deletes_in_batches_but_never_every_contact(admin_client, company, people, small_limit, monkeypatch,
                                                          settings, django_capture_on_commit_callbacks):
    from contacts.services import core

    monkeypatch.setattr(core, "MASS_EDIT_JOB_BATCH", 2)
    response = admin_client.post(URL, {"selection": "ids", "ids": ids(*people.values()), "action": "delete"})
    assert response.status_code == 403 and "Deleting all contacts at once is not allowed." in response.content.decode()
    response = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=0", "action": "delete"})
    assert response.status_code == 403
    assert not MassEditJob.objects.exists() and Contact.objects.count() == 4
    # the worker checks again before writing: the fourth contact went away meanwhile
    job = MassEditJob.objects.create(company=company, delete=True, selection={"mode": "ids", "ids": [
        people[n].pk for n in ("Ana", "Bea", "Carl")]})
    Contact.objects.filter(pk=people["Dan"].pk).delete()
    services.run_mass_edit_job(job)
    job.refresh_from_db()
    assert job.status == MassEditStatus.FAILED and "not allowed" in job.error_message
    assert Contact.objects.count() == 3 and job.processed == 0
    # a selection of all but one is deleted, batch by batch
    settings.HERALD_MASS_EDIT_SYNC_LIMIT = 2
    extra = services.create_contact(actor=Actor.system(company), company=company, phone="+34612345679",
                                    attributes={"name": "Eva", "age": 20})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, {"selection": "all", "filters": "attr_age__min=18", "action": "delete"})
    job = MassEditJob.objects.filter(status=MassEditStatus.DONE).get()
    assert response.status_code == 302 and job.deleted == 3 and job.processed == 3 and job.delete
    assert list(Contact.objects.values_list("pk", flat=True)) == [people["Bea"].pk]
    assert not Contact.objects.filter(pk=extra.pk).exists()
    assert "3 contacts deleted." in admin_client.get(f"/contacts/mass-edit/jobs/{job.pk}/").content.decode()


def test_another_companys_job_answers_404(admin_client, other_company):
    job = MassEditJob.objects.create(company=other_company, selection={"mode": "all", "filters": ""})
    assert admin_client.get(f"/contacts/mass-edit/jobs/{job.pk}/").status_code == 404
    assert admin_client.get(f"/contacts/mass-edit/jobs/{job.pk}/status/").status_code == 404


def test_job_pages_need_manage_contacts(client, company):
    job = MassEditJob.objects.create(company=company, selection={"mode": "all", "filters": ""})
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    assert client.get(f"/contacts/mass-edit/jobs/{job.pk}/").status_code == 403
    assert client.get(f"/contacts/mass-edit/jobs/{job.pk}/status/").status_code == 403


def test_the_status_partial_polls_until_done(admin_client, company, people):
    job = MassEditJob.objects.create(company=company, selection={"mode": "all", "filters": ""}, add_tags=["x"],
                                     total=4)
    html = admin_client.get(f"/contacts/mass-edit/jobs/{job.pk}/status/").content.decode()
    assert f'hx-get="/contacts/mass-edit/jobs/{job.pk}/status/"' in html and "Waiting for a worker" in html
    assert "0 of 4 contacts (0%)" in html


def test_a_restarted_job_continues_after_its_checkpoint(admin_client, company, people, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    from contacts.services import core

    monkeypatch.setattr(core, "MASS_EDIT_JOB_BATCH", 2)
    ordered = sorted(people.values(), key=lambda c: c.pk)
    # a worker died after the first batch: two contacts tagged, counts and checkpoint committed
    tag = services.tags_named(company, ["half"])[0]
    for contact in ordered[:2]:
        contact.tags.add(tag)
    job = MassEditJob.objects.create(company=company, status=MassEditStatus.RUNNING, attempts=1,
                                     selection={"mode": "all", "filters": ""}, add_tags=["half"],
                                     set_values={"city": "Teruel"}, total=4, processed=2, tagged=2, changed=2,
                                     last_id=ordered[1].pk)
    Contact.objects.filter(pk=ordered[0].pk).update(attributes={"name": "edited-before"})  # not redone
    calls = []
    real = core._edit_ids
    monkeypatch.setattr(core, "_edit_ids", lambda ids, *a: calls.append(list(ids)) or real(ids, *a))
    with django_capture_on_commit_callbacks(execute=True):  # the status poll finds nobody running it
        admin_client.get(f"/contacts/mass-edit/jobs/{job.pk}/status/")
    job.refresh_from_db()
    assert calls == [[c.pk for c in ordered[2:]]]
    assert job.status == MassEditStatus.DONE and (job.processed, job.tagged, job.changed, job.total) == (4, 4, 4, 4)
    assert fresh(ordered[0]).attributes == {"name": "edited-before"}
    assert all(fresh(c).attributes["city"] == "Teruel" for c in ordered[2:])
    assert all(tags_of(c) == ["half"] for c in ordered)
    assert tag_rows(company) == 4  # no duplicate rows
    # delivered again: nothing more
    assert services.run_mass_edit_job(job) == MassEditStatus.DONE and len(calls) == 1


def tag_rows(company):
    from contacts.models import ContactTag

    return ContactTag.objects.filter(contact__company=company).count()
