"""Counties, themes and update frequencies read in the page's language wherever they show; the
Chinese translation keeps one form of address and full-width punctuation; download counts agree
with their number in both languages (issue 19 item 17)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from application_factories import make_application
from babel.messages.pofile import read_po
from catalogue_factories import make_dataset, make_department, make_theme
from contest_factories import make_contest, make_judge, make_round, make_team

from portal import names
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
CJK = "\u4e00-\u9fff"


def speak(client, language: str) -> None:
    client.set_cookie("lang", language)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def catalogue(app):
    department = make_department(region_code="330482", title="平湖市交通运输局")
    dataset = make_dataset(
        title="平湖市公交线路",
        name="pinghu-bus",
        department=department,
        themes=[make_theme("交通出行", name="jtcx")],
        extras={"update_frequency": "每月"},
        download_count=1,
    )
    db.session.commit()
    return dataset


# The names: one table per kind


def test_every_county_has_an_english_name_in_one_style():
    regions = json.loads((ROOT / "seeds" / "regions.json").read_text(encoding="utf-8"))["regions"]
    suffix = {"区": "District", "县": "County", "市": "City"}
    for item in regions:
        assert item["name_en"].endswith(" " + suffix[item["name"][-1]]), item
        assert names.region_name(item["name"], english=True) == item["name_en"]
        assert names.region_name(item["code"], english=True) == item["name_en"]
        assert names.region_name(item["name"], english=False) == item["name"]


@pytest.mark.parametrize(
    ("value", "english"),
    [("实时", "Real-time"), ("每日", "Daily"), ("每周", "Weekly"), ("每月", "Monthly"),
     ("每季度", "Quarterly"), ("每半年", "Half-yearly"), ("每年", "Yearly"), ("不定期", "不定期")],
)  # fmt: skip
def test_update_frequencies_read_in_english_and_stay_chinese_in_chinese(value, english):
    assert names.frequency_name(value, english=True) == english
    assert names.frequency_name(value, english=False) == value


def test_themes_are_named_by_group_name_or_title_and_unknown_ones_as_they_are():
    assert names.theme_name("交通出行", english=True) == "Transport"
    assert names.theme_name("jtcx", english=True) == "Transport"
    assert names.theme_name("交通出行", english=False) == "交通出行"
    assert names.theme_name("地方特色", english=True) == "地方特色"


# The pages


def test_catalogue_page_names_county_theme_and_downloads_in_english(client, catalogue):
    speak(client, "en")
    html = page(client, "/datasets/")
    facets = html[html.index('data-facet="region"') :]
    assert "Pinghu City" in facets and "Transport" in facets
    card = html[html.index('class="dataset-card"') :]
    assert "Pinghu City" in card and "Transport" in card
    assert "1 download<" in card and "1 downloads" not in card
    assert '<span class="dataset-region">Pinghu City</span>' in card
    assert "Open to everyone" in card and "交通出行" not in card  # the department's title is data


def test_catalogue_page_names_county_theme_and_downloads_in_chinese(client, catalogue):
    html = page(client, "/datasets/")
    card = html[html.index('class="dataset-card"') :]
    assert "平湖市" in card and "交通出行" in card and "下载 1 次" in card and "无条件开放" in card
    assert "Pinghu" not in html and "Transport" not in html


def test_download_counts_agree_with_their_number(client, catalogue):
    catalogue.download_count = 12345
    db.session.commit()
    speak(client, "en")
    assert "12,345 downloads" in page(client, "/datasets/")
    speak(client, "zh")
    assert "下载 12,345 次" in page(client, "/datasets/")


def test_dataset_page_names_county_theme_and_frequency_in_each_language(client, catalogue):
    chinese = page(client, "/datasets/pinghu-bus")
    metadata = chinese[chinese.index('data-field="region"') :]
    assert "平湖市" in metadata and "交通出行" in metadata and "每月" in metadata
    speak(client, "en")
    english = page(client, "/datasets/pinghu-bus")
    metadata = english[english.index('data-field="region"') :]
    assert "Pinghu City" in metadata and "Transport" in metadata and "Monthly" in metadata
    assert "每月" not in metadata and "交通出行" not in metadata


def test_applications_board_and_list_name_counties_in_each_language(client, login, app):
    make_application(code="330481", status="approved")
    db.session.commit()
    login("admin")
    chinese = page(client, "/applications/board?year=2020")
    assert "海宁市" in chinese and "Haining" not in chinese
    speak(client, "en")
    english = page(client, "/applications/board?year=2020")
    assert "Haining City" in english and "Nanhu District" in english and "海宁市" not in english
    listing = page(client, "/applications/")
    assert "Haining City" in listing and "海宁市" not in listing


def test_contest_team_page_names_its_county_in_each_language(client, app):
    team = make_team(make_contest(), region_code="330483")
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(team.captain.id)
    assert "桐乡市" in page(client, f"/contest/teams/{team.id}")
    speak(client, "en")
    english = page(client, f"/contest/teams/{team.id}")
    assert "Tongxiang City" in english and "桐乡市" not in english


def test_sign_up_refuses_a_bad_email_in_plain_chinese(client):
    data = {
        "email": "不是邮箱",
        "display_name": "张三",
        "password": "Qx7-Vm2p-9kT!",
        "confirm": "Qx7-Vm2p-9kT!",
    }
    answer = client.post("/account/sign-up", data=data).get_data(as_text=True)
    assert "请输入有效的电子邮箱地址" in answer and "无效的 Email 地址" not in answer


# The translation file


def _chinese_strings():
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    for message in catalog:
        if message.id:
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            yield from ((message.id, s) for s in strings if s)


def test_chinese_translations_use_full_width_colons_and_semicolons_between_chinese_words():
    ascii_between = re.compile(rf"[{CJK}]\s*[:;]|[:;]\s*[{CJK}]")
    bad = [(msgid, s) for msgid, s in _chinese_strings() if ascii_between.search(s)]
    assert bad == []


def test_chinese_translations_address_the_reader_as_nin():
    assert [(msgid, s) for msgid, s in _chinese_strings() if "你" in s] == []
    assert any("您" in s for _, s in _chinese_strings())


def test_no_result_search_suggests_popular_themes_in_english(client, catalogue):
    speak(client, "en")
    html = page(client, "/datasets/?q=zzzzqqq")
    chips = re.findall(r'data-suggest="theme">([^<]+)<', html)
    assert chips == ["Transport"]


def test_api_counties_give_the_english_name_of_the_one_table(client, app):
    from portal.regions.models import Region

    pinghu = db.session.scalar(db.select(Region).where(Region.code == "330482"))
    pinghu.name_en = "Pinghu"  # as a database seeded before the names were made consistent
    db.session.commit()
    items = client.get("/api/v1/counties").get_json()["items"]
    assert {c["code"]: c["name_en"] for c in items}["330482"] == "Pinghu City"


def test_contest_panel_page_names_judges_counties_in_each_language(client, login, app):
    round_ = make_round(make_contest(), "judging")
    make_judge(round_, region_code="330424")
    db.session.commit()
    login("admin")
    url = f"/contest/admin/rounds/{round_.id}/judges"
    assert "海盐县" in page(client, url)
    speak(client, "en")
    english = page(client, url)
    assert "Haiyan County" in english and "海盐县" not in english


def test_english_messages_gloss_every_chinese_example():
    """English readers see Chinese only as an example beside its English meaning: 浙里办 is the
    Zheliban app, a round's name 初赛 comes after "preliminary"."""
    pot = read_po((ROOT / "translations" / "messages.pot").open("rb"))
    chinese = re.compile(rf"[{CJK}]")
    for message in pot:
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        if not msgid or not chinese.search(msgid):
            continue
        bare = re.sub(rf"\([^)]*[{CJK}][^)]*\)|[{CJK}]+ \([^)]+\)", "", msgid)
        bare = re.sub(rf"rather than [{CJK}]+$", "", bare)
        assert not chinese.search(bare), msgid


def test_office_dashboard_names_counties_from_the_one_table_in_english(client, login, app):
    from portal.regions.models import Region

    pinghu = db.session.scalar(db.select(Region).where(Region.code == "330482"))
    pinghu.name_en = "Pinghu"  # as a database seeded before the names were made consistent
    db.session.commit()
    login("admin")
    speak(client, "en")
    html = page(client, "/admin/metrics/")
    option = re.search(r'<option value="330482"[^>]*>([^<]+)</option>', html)
    assert option.group(1) == "Pinghu City"
    assert re.search(r'<tr data-county="330482"><th scope="row">\s*Pinghu City', html)
