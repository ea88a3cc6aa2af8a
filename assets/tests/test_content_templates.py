"""Content templates: the model, the company-scoped selectors the Omni API and the senders
use, and the BackOffice."""

import pytest

from assets import selectors
from assets.models import ContentTemplate
from assets.tests.factories import content_template
from portal.channel_types import Channel


@pytest.mark.django_db
class TestSelectors:
    def test_lists_only_the_company_templates_newest_first(self, company, other_company):
        first = content_template(company, name="Welcome")
        second = content_template(company, channel=Channel.EMAIL,
                                  content={"subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"})
        content_template(other_company, name="Not ours")
        assert list(selectors.content_templates_for(company)) == [second, first]

    def test_one_template_by_id(self, company):
        template = content_template(company, content={"text": "Code {{1}}"}, sender="ACME")
        found = selectors.content_template(company, template.pk)
        assert found == template
        assert found.content == {"text": "Code {{1}}"} and found.sender == "ACME"
        assert found.channel == Channel.SMS
        assert selectors.content_template(company, str(template.pk)) == template

    def test_another_company_template_is_not_found(self, company, other_company):
        theirs = content_template(other_company)
        assert selectors.content_template(company, theirs.pk) is None
        assert selectors.content_template(other_company, theirs.pk) == theirs

    @pytest.mark.parametrize("bad", [None, "abc", "1.5", [], 999_999])
    def test_unknown_or_malformed_id_is_none(self, company, bad):
        content_template(company)
        assert selectors.content_template(company, bad) is None

    def test_a_company_is_required(self):
        from portal.tenancy import MissingCompany

        with pytest.raises(MissingCompany):
            selectors.content_templates_for(None)


@pytest.mark.django_db
def test_str_names_the_channel(company):
    assert str(content_template(company, name="Welcome", channel=Channel.VIBER)) == "Welcome (Viber)"


@pytest.mark.django_db
def test_name_is_limited_to_100_characters(company):
    from django.core.exceptions import ValidationError

    template = ContentTemplate(company=company, name="x" * 101, channel=Channel.SMS, content={"text": "Hi"})
    with pytest.raises(ValidationError) as exc:
        template.full_clean()
    assert "name" in exc.value.message_dict


@pytest.mark.django_db
def test_backoffice_lists_and_opens_templates(client, company):
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser(login="root", password="Str0ng!Passw0rd",
                                                          email="root@example.com")
    client.force_login(superuser)
    template = content_template(company, name="Spring sale")
    response = client.get("/admin/assets/contenttemplate/")
    assert response.status_code == 200
    assert "Spring sale" in response.content.decode()
    assert client.get(f"/admin/assets/contenttemplate/{template.pk}/change/").status_code == 200
