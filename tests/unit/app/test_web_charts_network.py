"""The ownership network picture (issue #11): whole names, wrapped not cut, and each linked
merchant in a row band tall enough for its name and its edge label."""

from __future__ import annotations

import re

from app.web.charts import EDGE_LINE, NAME_LINE, Node, network_chart

LONG = "Kripto Hızlı Transfer ve Dijital Ödeme Hizmetleri Ticaret Limited Şirketi"
SHARES = ["owner", "IBAN", "e-mail", "phone", "domain", "sign-up IP"]


def _svg(count: int) -> str:
    center = Node("mer_self", "Mega Bonus Oyun Ticaret Limited Şirketi", "self")
    links = [(Node(f"mer_{i}", f"{LONG} {i}", "bad" if i % 2 else "", f"/m/{i}"), SHARES)
             for i in range(count)]
    return str(network_chart(center, links, title="Merchants linked"))


def _texts(svg: str, css: str) -> list[tuple[float, list[str]]]:
    return [(float(y), re.findall(r"<tspan[^>]*>([^<]*)</tspan>", body))
            for y, body in re.findall(rf'<text class="{css}" x="[\d.]+" y="([\d.]+)">(.*?)</text>',
                                      svg)]


def test_network_names_are_wrapped_whole_never_cut():
    svg = _svg(5)
    names = [" ".join(lines) for _y, lines in _texts(svg, "name")]
    assert names == [f"{LONG} {i}" for i in range(5)]
    assert "…" not in svg
    assert all(len(lines) > 1 for _y, lines in _texts(svg, "name"))
    assert " ".join(_texts(svg, "center-name")[0][1]) == "Mega Bonus Oyun Ticaret Limited Şirketi"


def test_a_two_word_share_stays_on_one_line_of_the_edge_label():
    lines = _texts(_svg(1), "edge-label")[0][1]
    assert "sign-up\u00a0IP" in " ".join(lines)
    assert all(line.strip() for line in lines)


def test_each_row_leaves_room_for_its_label_above_the_edge_and_its_name():
    svg = _svg(16)
    circles = [float(y) for y in re.findall(r'<circle class="node[^"]*" cx="[\d.]+" cy="([\d.]+)"',
                                            svg)]
    labels = _texts(svg, "edge-label")
    names = _texts(svg, "name")
    assert len(circles) == len(labels) == len(names) == 16
    for i, cy in enumerate(circles):
        first, lines = labels[i]
        assert first + (len(lines) - 1) * EDGE_LINE < cy - 4  # the label ends above its edge
        if i:  # and starts below the previous row's name and edge
            previous_name_end = circles[i - 1] + len(names[i - 1][1]) * NAME_LINE / 2
            assert first - EDGE_LINE >= circles[i - 1]
            assert first - EDGE_LINE > previous_name_end - NAME_LINE
    height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))
    assert circles[-1] < height
