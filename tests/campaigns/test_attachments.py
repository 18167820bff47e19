"""Attachments: only PDF, PNG, JPEG and WebP up to 10 MB, checked by name and by content,
stored through Django's storage, served to logged-in people only; a refusal names the
file and leaves nothing behind, neither a row nor a stored file."""

import re
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from campaigns import services
from campaigns.models import Attachment, CampaignEvent
from core.errors import DomainError, NotFound, PermissionRefused
from tests.campaigns.files import EXE, JPEG, WEBP, pdf, png
from tests.factories import CampaignFactory, announced_campaign, make_marketer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]


@pytest.fixture(autouse=True)
def english():
    # Messages are compared word for word; a request earlier in the run may have left
    # another language active in this thread.
    with translation.override("en"):
        yield


HTMX = {"HTTP_HX_REQUEST": "true"}
MB = 1024 * 1024


def _stored(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def _upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def _add(actor, campaign, name: str, content: bytes) -> Attachment:
    return services.attachment_add(
        actor=actor, campaign_id=campaign.pk, uploaded_file=_upload(name, content)
    )


def _refused(actor, campaign, name: str, content: bytes, storage: Path) -> DomainError:
    with pytest.raises(DomainError) as refused:
        _add(actor, campaign, name, content)
    assert not Attachment.objects.exists()
    assert not CampaignEvent.objects.filter(campaign=campaign).exists()
    assert _stored(storage) == []
    return refused.value


class TestAdd:
    @pytest.mark.parametrize(
        ("name", "content", "content_type"),
        [
            ("email-voeux.pdf", pdf(), "application/pdf"),
            ("Visuel.PNG", png(), "image/png"),
            ("photo.jpg", JPEG, "image/jpeg"),
            ("photo.jpeg", JPEG, "image/jpeg"),
            ("banniere.webp", WEBP, "image/webp"),
        ],
    )
    def test_accepted_types_are_stored_with_their_checked_type(
        self, marketer, draft_campaign, storage, name, content, content_type
    ):
        attachment = _add(marketer, draft_campaign, name, content)

        attachment.refresh_from_db()
        assert attachment.original_name == name
        assert attachment.content_type == content_type
        assert attachment.size == len(content)
        assert attachment.uploaded_by == marketer
        assert attachment.file.name.startswith(f"campaigns/{draft_campaign.pk}/")
        with attachment.file.open("rb") as stored:
            assert stored.read() == content
        assert len(_stored(storage)) == 1
        event = draft_campaign.events.get()
        assert event.kind == CampaignEvent.Kind.EDITED
        assert event.details == {"attachment_added": name}

    def test_the_browsers_claimed_type_is_not_trusted(self, marketer, draft_campaign):
        attachment = services.attachment_add(
            actor=marketer,
            campaign_id=draft_campaign.pk,
            uploaded_file=_upload("visuel.png", png(), content_type="text/html"),
        )
        assert attachment.content_type == "image/png"

    def test_a_path_in_the_name_is_dropped(self, marketer, draft_campaign, storage):
        attachment = _add(marketer, draft_campaign, "..\\..\\secret/../../etc/voeux.pdf", pdf())

        assert attachment.original_name == "voeux.pdf"
        (stored,) = _stored(storage)
        assert stored.is_relative_to(storage / "campaigns" / str(draft_campaign.pk))

    def test_two_files_with_one_name_are_both_kept(self, marketer, draft_campaign, storage):
        _add(marketer, draft_campaign, "email.pdf", pdf("un"))
        _add(marketer, draft_campaign, "email.pdf", pdf("deux"))

        assert len(_stored(storage)) == 2

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("setup.exe", EXE),
            ("visuel.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
            ("anim.gif", b"GIF89a" + b"\x00" * 20),
            ("notes.txt", b"hello"),
            ("sans-extension", pdf()),
            ("page.html", b"<html><script>alert(1)</script></html>"),
        ],
    )
    def test_other_extensions_are_refused_naming_the_file(
        self, marketer, draft_campaign, storage, name, content
    ):
        error = _refused(marketer, draft_campaign, name, content, storage)

        assert error.field_errors == {
            "file": [f"“{name}” was refused: only PDF, PNG, JPEG and WebP files are accepted."]
        }

    @pytest.mark.parametrize(
        ("name", "content", "kind"),
        [
            ("facture.pdf", EXE, "PDF"),
            ("visuel.png", pdf(), "PNG"),
            ("photo.jpg", png(), "JPEG"),
            ("photo.jpeg", b"<html>", "JPEG"),
            ("banniere.webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", "WebP"),
            ("page.pdf", b"<html><body>%PDF</body></html>", "PDF"),
        ],
    )
    def test_content_that_does_not_match_the_extension_is_refused(
        self, marketer, draft_campaign, storage, name, content, kind
    ):
        error = _refused(marketer, draft_campaign, name, content, storage)

        assert error.field_errors == {
            "file": [f"“{name}” was refused: its content is not a {kind} file."]
        }

    def test_more_than_ten_megabytes_is_refused(self, marketer, draft_campaign, storage):
        error = _refused(
            marketer, draft_campaign, "brochure.pdf", b"%PDF-1.7\n" + b"0" * (10 * MB), storage
        )

        (message,) = error.field_errors["file"]
        assert message.startswith("“brochure.pdf” was refused: it is 10.0\xa0MB")
        assert message.endswith("the limit is 10.0\xa0MB.")

    def test_exactly_ten_megabytes_is_accepted(self, marketer, draft_campaign):
        content = b"%PDF-1.7\n" + b"0" * (10 * MB - 9)
        assert _add(marketer, draft_campaign, "brochure.pdf", content).size == 10 * MB

    def test_an_empty_file_is_refused(self, marketer, draft_campaign, storage):
        error = _refused(marketer, draft_campaign, "vide.pdf", b"", storage)
        assert error.field_errors == {"file": ["“vide.pdf” was refused: the file is empty."]}

    def test_only_the_owner_co_editors_and_managers(
        self, marketer, advisor, manager, draft_campaign, storage
    ):
        other_marketer = make_marketer()
        with pytest.raises(PermissionRefused):
            _add(other_marketer, draft_campaign, "email.pdf", pdf())
        with pytest.raises(NotFound):  # an advisor does not see a draft
            _add(advisor, draft_campaign, "email.pdf", pdf())
        announced = announced_campaign(owner=marketer)
        with pytest.raises(PermissionRefused):
            _add(advisor, announced, "email.pdf", pdf())
        assert _stored(storage) == []
        draft_campaign.editors.add(other_marketer)
        _add(other_marketer, draft_campaign, "co-editor.pdf", pdf())
        _add(manager, draft_campaign, "manager.pdf", pdf())
        assert len(_stored(storage)) == 2

    @pytest.mark.parametrize("status", ["done", "cancelled"])
    def test_a_closed_campaign_keeps_its_files(
        self, marketer, draft_campaign, bring_to, storage, status
    ):
        campaign = bring_to(draft_campaign, status)
        events = campaign.events.count()

        with pytest.raises(DomainError) as refused:
            _add(marketer, campaign, "email.pdf", pdf())

        assert refused.value.code == "not_editable"
        assert campaign.events.count() == events
        assert _stored(storage) == []

    def test_an_announced_campaign_takes_files_without_a_new_version(self, marketer):
        campaign = announced_campaign(owner=marketer)
        _add(marketer, campaign, "email.pdf", pdf())
        campaign.refresh_from_db()
        assert campaign.version == 1

    def test_nothing_is_left_half_way_when_the_row_cannot_be_written(
        self, marketer, draft_campaign, storage
    ):
        with (
            mock.patch(
                "campaigns.services.attachments.record", side_effect=RuntimeError("database gone")
            ),
            pytest.raises(RuntimeError),
        ):
            _add(marketer, draft_campaign, "email.pdf", pdf())

        assert not Attachment.objects.exists()
        assert _stored(storage) == []


class TestRemove:
    def test_removes_the_row_records_it_and_deletes_the_file_after_commit(
        self, marketer, draft_campaign, storage, django_capture_on_commit_callbacks
    ):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.attachment_remove(actor=marketer, attachment_id=attachment.pk)
            # Until the transaction commits, the file is still there.
            assert len(_stored(storage)) == 1
        for callback in callbacks:
            callback()

        assert not Attachment.objects.exists()
        assert _stored(storage) == []
        event = draft_campaign.events.order_by("-id").first()
        assert event.details == {"attachment_removed": "email.pdf"}

    def test_removing_twice_says_it_does_not_exist(self, marketer, draft_campaign):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())
        services.attachment_remove(actor=marketer, attachment_id=attachment.pk)

        with pytest.raises(NotFound):
            services.attachment_remove(actor=marketer, attachment_id=attachment.pk)

    def test_only_the_owner_co_editors_and_managers(self, marketer, advisor, storage):
        campaign = announced_campaign(owner=marketer)
        attachment = _add(marketer, campaign, "email.pdf", pdf())

        for actor in (advisor, make_marketer()):
            with pytest.raises(PermissionRefused):
                services.attachment_remove(actor=actor, attachment_id=attachment.pk)

        assert Attachment.objects.filter(pk=attachment.pk).exists()
        assert len(_stored(storage)) == 1

    def test_a_cancelled_campaign_keeps_its_files(self, marketer, draft_campaign):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())
        services.campaign_cancel(actor=marketer, campaign_id=draft_campaign.pk)

        with pytest.raises(DomainError) as refused:
            services.attachment_remove(actor=marketer, attachment_id=attachment.pk)

        assert refused.value.code == "not_editable"
        assert Attachment.objects.filter(pk=attachment.pk).exists()


class TestPages:
    def test_upload_without_javascript_redirects_to_the_form(
        self, client, marketer, draft_campaign
    ):
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
            {"file": _upload("email.pdf", pdf())},
            follow=True,
        )

        assert response.redirect_chain[-1][0].endswith(
            reverse("campaigns:edit", args=[draft_campaign.pk]) + "#attachments"
        )
        html = response.content.decode()
        assert "“email.pdf” attached." in html
        assert re.search(r'<li class="attachment" id="attachment-\d+">', html)

    def test_upload_with_htmx_answers_the_panel(self, client, marketer, draft_campaign):
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
            {"file": _upload("visuel.png", png())},
            **HTMX,
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert html.strip().startswith('<article id="attachments"')
        assert "“visuel.png” attached." in html
        assert 'type="file"' in html  # ready for the next file

    def test_refused_upload_with_htmx_names_the_file_under_the_input(
        self, client, marketer, draft_campaign, storage
    ):
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
            {"file": _upload("virus.pdf", EXE)},
            **HTMX,
        )

        assert response.status_code == 200  # htmx swaps 2xx answers only
        html = response.content.decode()
        assert re.search(
            r'<small class="field-error" id="id_file_error" role="alert">'
            r"“virus.pdf” was refused: its content is not a PDF file.</small>",
            html,
        )
        assert 'aria-invalid="true"' in html
        assert _stored(storage) == []

    def test_refused_upload_without_javascript_shows_the_form_page(
        self, client, marketer, draft_campaign
    ):
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
            {"file": _upload("carte.gif", b"GIF89a")},
        )

        assert response.status_code == 400
        html = response.content.decode()
        assert "<html" in html
        assert "“carte.gif” was refused" in html
        assert f'value="{draft_campaign.title}"' in html

    def test_no_upload_form_once_the_campaign_is_closed(self, client, marketer, draft_campaign):
        _add(marketer, draft_campaign, "email.pdf", pdf())
        services.campaign_cancel(actor=marketer, campaign_id=draft_campaign.pk)
        client.force_login(marketer)

        response = client.get(reverse("campaigns:edit", args=[draft_campaign.pk]), follow=True)

        html = response.content.decode()
        assert response.redirect_chain == [
            (reverse("campaigns:detail", args=[draft_campaign.pk]), 302)
        ]
        assert "This campaign is cancelled: it can no longer be edited." in html
        assert ">email.pdf</a>" in html
        assert 'type="file"' not in html
        assert ">Remove<" not in html

    def test_no_file_chosen(self, client, marketer, draft_campaign):
        client.force_login(marketer)
        response = client.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]), {}, **HTMX
        )
        assert "Choose a file to attach." in response.content.decode()

    def test_download_needs_a_login(self, client, marketer, draft_campaign):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())

        response = client.get(reverse("campaigns:attachment", args=[attachment.pk]))

        assert response.status_code == 302
        assert "/accounts/login/" in response.url

    def test_a_pdf_is_streamed_as_a_download(self, client, advisor, marketer):
        content = pdf()
        attachment = _add(marketer, announced_campaign(owner=marketer), "e-mail vœux.pdf", content)
        client.force_login(advisor)

        response = client.get(reverse("campaigns:attachment", args=[attachment.pk]))

        assert response.status_code == 200
        assert response.streaming
        assert b"".join(response.streaming_content) == content
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "e-mail%20v%C5%93ux.pdf" in response["Content-Disposition"]
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_an_image_is_shown_inline(self, client, advisor, marketer):
        attachment = _add(marketer, announced_campaign(owner=marketer), "visuel.png", png())
        client.force_login(advisor)

        response = client.get(reverse("campaigns:attachment", args=[attachment.pk]))

        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline;")
        assert b"".join(response.streaming_content) == png()

    def test_a_missing_file_is_a_404(self, client, marketer, draft_campaign, storage):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())
        for path in _stored(storage):
            path.unlink()
        client.force_login(marketer)

        response = client.get(reverse("campaigns:attachment", args=[attachment.pk]))

        assert response.status_code == 404

    def test_the_campaign_page_lists_files_with_preview_size_and_links(
        self, client, marketer, draft_campaign
    ):
        image = _add(marketer, draft_campaign, "visuel.png", png())
        document = _add(marketer, draft_campaign, "email.pdf", pdf())
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[draft_campaign.pk])).content.decode()

        panel = html[html.index('<article id="attachments"') :].split("</article>")[0]
        image_url = reverse("campaigns:attachment", args=[image.pk])
        assert f'<img src="{image_url}" alt=""' in panel
        assert f'href="{reverse("campaigns:attachment", args=[document.pk])}" download' in panel
        assert ">email.pdf</a>" in panel
        assert f"{len(pdf())}\xa0bytes" in panel or "KB" in panel
        assert panel.count(">Remove<") == 2
        assert 'type="file"' not in panel  # files are added on the edit page

    def test_an_advisor_sees_the_files_without_remove_buttons(self, client, advisor, marketer):
        campaign = announced_campaign(owner=marketer)
        _add(marketer, campaign, "email.pdf", pdf())
        client.force_login(advisor)

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        assert ">email.pdf</a>" in html
        assert "attachment_remove" not in html
        assert ">Remove<" not in html

    def test_remove_without_javascript_returns_to_the_page(
        self, client, marketer, draft_campaign, storage, django_capture_on_commit_callbacks
    ):
        attachment = _add(marketer, draft_campaign, "email.pdf", pdf())
        client.force_login(marketer)
        edit_url = reverse("campaigns:edit", args=[draft_campaign.pk])

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("campaigns:attachment_remove", args=[attachment.pk]),
                {"next": edit_url + "#attachments", "panel": "form"},
            )

        assert response.status_code == 302
        assert response.url == edit_url + "#attachments"
        assert not Attachment.objects.exists()
        assert _stored(storage) == []

    def test_remove_with_htmx_answers_the_panel_it_came_from(
        self, client, marketer, draft_campaign
    ):
        keep = _add(marketer, draft_campaign, "visuel.png", png())
        gone = _add(marketer, draft_campaign, "email.pdf", pdf())
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_remove", args=[gone.pk]), {"panel": "page"}, **HTMX
        )

        html = response.content.decode()
        assert "“email.pdf” removed." in html
        assert f'id="attachment-{keep.pk}"' in html
        assert f'id="attachment-{gone.pk}"' not in html
        assert 'type="file"' not in html

    def test_an_advisor_cannot_remove(self, client, advisor, marketer, draft_campaign):
        announced = _add(marketer, announced_campaign(owner=marketer), "email.pdf", pdf())
        draft = _add(marketer, draft_campaign, "draft.pdf", pdf())
        client.force_login(advisor)

        remove = "campaigns:attachment_remove"
        assert client.post(reverse(remove, args=[announced.pk])).status_code == 403
        assert client.post(reverse(remove, args=[draft.pk])).status_code == 404  # unseen
        assert Attachment.objects.count() == 2

    def test_an_advisor_cannot_download_a_drafts_files(self, client, advisor, marketer):
        attachment = _add(marketer, CampaignFactory(owner=marketer), "email.pdf", pdf())
        client.force_login(advisor)

        response = client.get(reverse("campaigns:attachment", args=[attachment.pk]))

        assert response.status_code == 404

    def test_removing_a_missing_attachment_is_a_404(self, client, marketer):
        client.force_login(marketer)
        assert client.post(reverse("campaigns:attachment_remove", args=[424242])).status_code == (
            404
        )

    def test_upload_to_a_missing_campaign_is_a_404(self, client, marketer):
        client.force_login(marketer)
        response = client.post(
            reverse("campaigns:attachment_add", args=[424242]), {"file": _upload("a.pdf", pdf())}
        )
        assert response.status_code == 404

    def test_a_closed_campaign_says_why_without_javascript(self, client, marketer):
        campaign = CampaignFactory(owner=marketer)
        services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[campaign.pk]),
            {"file": _upload("a.pdf", pdf())},
            follow=True,
        )

        assert response.redirect_chain == [(reverse("campaigns:detail", args=[campaign.pk]), 302)]
        assert "This campaign is cancelled: its attachments can no longer change." in (
            response.content.decode()
        )

    def test_a_closed_campaign_says_why_with_htmx(self, client, marketer):
        campaign = CampaignFactory(owner=marketer)
        services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:attachment_add", args=[campaign.pk]),
            {"file": _upload("a.pdf", pdf())},
            **HTMX,
        )

        assert response.status_code == 200
        assert "can no longer change" in response.content.decode()
