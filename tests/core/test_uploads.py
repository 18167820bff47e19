"""Uploads are cut off once a file passes the size limit (core.uploads), with the usual
error under the field; files within the limit and the form's other fields go through."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from campaigns.models import Attachment
from core.uploads import SizeLimitUploadHandler, cut_off_uploads
from tests.campaigns.files import pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]

MB = 1024 * 1024
LIMIT = 10 * MB
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def received(monkeypatch) -> dict[str, int]:
    """What the handlers were given: chunks seen by the limit, bytes written to the
    temporary file by Django's handler (files over 2.5 MB go there, not to memory)."""
    seen = {"limit_chunks": 0, "kept_bytes": 0}
    limit_receive = SizeLimitUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        seen["limit_chunks"] += 1
        return limit_receive(self, raw_data, start)

    monkeypatch.setattr(SizeLimitUploadHandler, "receive_data_chunk", counting)
    keep = TemporaryFileUploadHandler.receive_data_chunk

    def keeping(self, raw_data, start):
        seen["kept_bytes"] += len(raw_data)
        return keep(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", keeping)
    return seen


def big_pdf(size: int, name: str = "brochure.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.7\n" + b"0" * (size - 9), "application/pdf")


def test_a_50_mb_upload_is_refused_without_being_read_whole(
    client, marketer, draft_campaign, received
):
    client.force_login(marketer)

    response = client.post(
        reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
        {"file": big_pdf(50 * MB)},
        **HTMX,
    )

    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert re.search(
        r'<small class="field-error" id="id_file_error" role="alert">'
        r"“brochure.pdf” was refused: it is larger than 10.0\xa0MB, the limit.</small>",
        response.content.decode(),
    )
    assert not Attachment.objects.exists()
    # 64 KB chunks: the handler stopped at the first one past 10 MB, out of 800, and
    # Django's handlers kept no more than the limit.
    chunk = SizeLimitUploadHandler.chunk_size
    assert received["limit_chunks"] == LIMIT // chunk + 1
    assert received["kept_bytes"] <= LIMIT


def test_without_javascript_the_form_page_shows_the_same_error(client, marketer, draft_campaign):
    client.force_login(marketer)

    response = client.post(
        reverse("campaigns:attachment_add", args=[draft_campaign.pk]), {"file": big_pdf(11 * MB)}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "“brochure.pdf” was refused: it is larger than 10.0\xa0MB, the limit." in html
    assert "Choose a file to attach." not in html
    assert not Attachment.objects.exists()


def test_a_file_of_exactly_the_limit_is_attached(client, marketer, draft_campaign, received):
    client.force_login(marketer)

    response = client.post(
        reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
        {"file": big_pdf(LIMIT)},
        **HTMX,
    )

    assert "“brochure.pdf” attached." in response.content.decode()
    assert Attachment.objects.get().size == LIMIT
    assert received["kept_bytes"] == LIMIT


def test_a_small_upload_goes_through(client, marketer, draft_campaign):
    client.force_login(marketer)
    file = SimpleUploadedFile("email.pdf", pdf(), "application/pdf")

    response = client.post(
        reverse("campaigns:attachment_add", args=[draft_campaign.pk]), {"file": file}, **HTMX
    )

    assert "“email.pdf” attached." in response.content.decode()
    assert Attachment.objects.get().original_name == "email.pdf"


def test_fields_around_a_cut_off_file_are_kept(rf):
    request = rf.post(
        "/anywhere/",
        {"before": "typed first", "file": big_pdf(12 * MB, "huge.pdf"), "after": "typed last"},
    )

    assert cut_off_uploads(request) == {"file": "huge.pdf"}
    assert "file" not in request.FILES
    assert request.POST["before"] == "typed first"
    assert request.POST["after"] == "typed last"


def test_nothing_is_cut_off_within_the_limit(rf):
    request = rf.post("/anywhere/", {"file": big_pdf(MB, "small.pdf")})

    assert cut_off_uploads(request) == {}
    assert request.FILES["file"].size == MB
