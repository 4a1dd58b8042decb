#!/usr/bin/env python3
"""libphonenumber's verdict (its Python port, `phonenumbers`) on each line of standard input:
the number in E.164 when it is a valid mobile (or fixed-line-or-mobile) number, read with SA
as the region for local forms, else "-". The differential test in server/tests/phones.rs
compares Nabd's reading with these."""
import sys

import phonenumbers
from phonenumbers import PhoneNumberType

MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    try:
        number = phonenumbers.parse(line, "SA")
        ok = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in MOBILE
        print(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else "-")
    except phonenumbers.NumberParseException:
        print("-")
