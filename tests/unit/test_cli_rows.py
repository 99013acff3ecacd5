"""Reading import files a line at a time (line numbers, blank lines, quoted newlines, tags and
attributes, the errors file's own column), and recognising a device already registered with the
same attributes whatever the spelling."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from registry_cli.batch_jobs import differences
from registry_cli.client import UsageError
from registry_cli.rows import DEVICES, Source, from_spreadsheet, spreadsheet_safe, write_csv


def _source(tmp_path: Path, text: str, name: str = "devices.csv") -> Source:
    path = tmp_path / name
    path.write_text(text)
    return Source(path, DEVICES)


def test_csv_rows_become_registration_bodies_with_tags_attributes_and_their_line_numbers(tmp_path):
    source = _source(
        tmp_path,
        "\ufeffname,device_type,mac_address,location,tags,attributes.floor,problem\n"
        "\n"
        'Boiler,sensor,00:00:00:00:00:01,"plant\nroom",heating; critical ;,B1,an old problem\n'
        "   \n"
        "Pump,actuator,00:00:00:00:00:02,,,,\n"
        "Short,sensor\n",
    )
    rows = list(source.rows())

    assert source.total == 3
    assert [row.line for row in rows] == [3, 6, 7]
    assert rows[0].item == {
        "name": "Boiler",
        "device_type": "sensor",
        "mac_address": "00:00:00:00:00:01",
        "location": "plant\nroom",
        "tags": ["heating", "critical"],
        "attributes": {"floor": "B1"},
    }
    assert rows[1].item == {"name": "Pump", "device_type": "actuator", "mac_address": "00:00:00:00:00:02"}
    assert rows[2].item is None and rows[2].problem == "line 7 has 2 fields; the header has 7"


def test_json_lines_that_are_not_objects_are_row_problems_and_blank_lines_are_skipped(tmp_path):
    source = _source(
        tmp_path,
        '{"name": "a", "device_type": "s", "mac_address": "00:00:00:00:00:01", "problem": "old"}\n\n[1]\n{oops\n',
        "devices.jsonl",
    )
    rows = list(source.rows())
    assert source.total == 3
    assert rows[0].item == {"name": "a", "device_type": "s", "mac_address": "00:00:00:00:00:01"}
    assert rows[1].problem == "line 3 is not a JSON object"
    assert rows[2].problem is not None and rows[2].problem.startswith("line 4 is not JSON")
    assert source.errors_path() == tmp_path / "devices.errors.jsonl"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,device_type,mac_address,mac_address\n", "appears twice"),
        ("name,device_type,mac_address,attributes.\n", "unknown column 'attributes.'"),
        ('name,device_type,mac_address\nx,y,"unterminated\nz,y,00:00:00:00:00:01\n', "not a CSV file.*line 3"),
    ],
)
def test_a_header_or_file_that_cannot_be_read_is_a_usage_error(tmp_path, text, message):
    path = tmp_path / "devices.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        Source(path, DEVICES)


def test_the_same_device_in_another_spelling_has_no_differences():
    registered = {
        "id": "x",
        "name": "Boiler",
        "device_type": "sensor",
        "mac_address": "00:1a:2b:3c:4d:5e",
        "ip_address": "2001:db8::1",
        "firmware_version": None,
        "tags": ["critical", "heating"],
        "attributes": {"floor": "B1"},
        "config_version": 3,
    }
    wanted = {
        "name": " Boiler ",
        "device_type": "sensor",
        "mac_address": "001A.2B3C.4D5E",
        "ip_address": "2001:0db8:0:0::1",
        "tags": ["Heating", "critical"],
        "attributes": {"floor": "B1"},
    }
    assert differences(wanted, registered) == []
    assert differences({**wanted, "location": "roof", "attributes": {}}, registered) == [
        "attributes: None in the file, {'floor': 'B1'} registered",
        "location: 'roof' in the file, None registered",
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-12.5", "'-12.5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("'=already quoted", "''=already quoted"),
        ("''", "'''"),
        ("'plain", "'plain"),
        ("'", "'"),
        ("plain -1 = 2", "plain -1 = 2"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_quoted_and_reads_back_as_it_was(value, cell):
    assert spreadsheet_safe(value) == cell
    assert from_spreadsheet(cell) == value


def test_exported_formula_cells_are_text_in_the_file_and_import_unchanged(tmp_path):
    record = {
        "name": '=HYPERLINK("http://evil.example","click")',
        "device_type": "sensor",
        "mac_address": "00:00:00:00:00:01",
        "location": "-12.5",
        "tags": ["+cmd|' /C calc'!A0", "edge"],
        "attributes": {"note": "@SUM(A1:A9)"},
    }
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        write_csv([record], ["note"], file)

    cells = next(csv.DictReader(path.open()))
    assert all(not cell or cell[0] not in "=+-@\t\r" for cell in cells.values())
    [row] = Source(path, DEVICES).rows()
    assert row.item == record
