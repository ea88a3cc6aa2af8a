"""Regenerates ``contacts.xls`` (the one binary fixture of the import tests).

python-calamine reads .xls but nothing in Herald's requirements writes it, so the file is
kept in the repository. To rebuild it: ``pip install --target /tmp/xlwt xlwt==1.3.0`` and
``PYTHONPATH=/tmp/xlwt python contacts/tests/files/make_xls.py``.
"""

import datetime
from pathlib import Path

ROWS = [
    ["Phone number", "Name", "Age", "Birthday"],
    [34612345678, "Ana", 31, datetime.date(1993, 5, 17)],
    ["+34 612 345 679", "Bruno", 45, datetime.date(1979, 1, 2)],
    ["0034612345680", "Carla", "forty", None],
]


def main():
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Contacts")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(Path(__file__).with_name("contacts.xls")))


if __name__ == "__main__":
    main()
