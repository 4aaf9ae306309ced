"""Operators watch jobs in the admin: drive it in Debian's Chromium through a real server."""
from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from jobs.models import JobStep
from tests.factories import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def screenshots(settings):
    """Where a test leaves what the browser showed, for a person to look at."""
    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log_in(browser, live_server, username: str, password: str) -> None:
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def test_a_staff_user_logs_in_and_inspects_a_job_step_by_step(browser, live_server, owner, product, screenshots):
    get_user_model().objects.create_user("ops", "ops@adfame.test", "a-long-ops-password", is_staff=True, is_superuser=True)
    campaign = make_campaign(owner.workspace, product)
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "fast_paced"}}
    job_id = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()["id"]
    JobStep.objects.create(job_id=job_id, stage="storyboard", position=0, provider="local.copywriter")
    JobStep.objects.create(job_id=job_id, stage="scene_image", scene=1, position=1, provider="local.compositor")

    _log_in(browser, live_server, "ops", "a-long-ops-password")
    browser.get(f"{live_server.url}/admin/jobs/job/?status__exact=queued")
    browser.find_element(By.LINK_TEXT, job_id).click()
    steps = browser.find_element(By.ID, "steps-group").text
    assert "local.copywriter" in steps and "local.compositor" in steps and "scene_image" in steps
    browser.save_screenshot(str(screenshots / "admin-job.png"))


def test_a_non_staff_user_cannot_enter_the_admin(browser, live_server, teammate):
    teammate.set_password("a-long-member-password")
    teammate.save()
    _log_in(browser, live_server, teammate.username, "a-long-member-password")
    assert "/admin/login/" in browser.current_url
    assert "staff account" in browser.find_element(By.CSS_SELECTOR, ".errornote").text
    browser.get(f"{live_server.url}/admin/jobs/job/")
    assert "/admin/login/" in browser.current_url
