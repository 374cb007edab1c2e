"""Minted writes its messages in the request's ``Accept-Language``: Turkish by default, English for ``en``.

The sandbox's rules are written in English; an answer to a caller who did not ask for English is
turned into Turkish here. Clients must never tell errors apart by these texts (contract 4): the
tests of the client's error classes run in both languages.
"""

from __future__ import annotations

import re

# English text (as the rules write it) -> Turkish; the most specific patterns first.
_TURKISH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), turkish)
    for pattern, turkish in (
        (r"Parameter Error \(New Customer\)", "Parametre Hatası (Yeni Müşteri)"),
        (r"Parameter Error", "Parametre Hatası"),
        (r"Unauthorized", "Yetkisiz erişim"),
        (r"Order not found\.", "Sipariş bulunamadı."),
        (r"Customer not found\.", "Müşteri bulunamadı."),
        (r"Injected fault: HTTP (\d+)", r"Yapay hata: HTTP \1"),
        (r"The (\S+) field is required when (\S+) is present\.", r"\2 varken \1 alanı zorunludur."),
        (r"The (\S+) field is required\.", r"\1 alanı zorunludur."),
        (r"The (\S+) header is required\.", r"\1 başlığı zorunludur."),
        (r"The (\S+) header must be (\S+)\.", r"\1 başlığı \2 olmalıdır."),
        (r"The selected (\S+) is invalid\.", r"Seçilen \1 geçersiz."),
        (r"The (\S+) format is invalid\.", r"\1 biçimi geçersiz."),
        (r"The (\S+) must be between 3 and 40 characters\.", r"\1 3 ile 40 karakter arasında olmalıdır."),
        (r"The (\S+) has already been taken\.", r"\1 daha önce alınmış."),
        (r"The (\S+) has already been used\.", r"\1 daha önce kullanılmış."),
        (r"The (\S+) has expired\.", r"\1 süresi dolmuş."),
        (r"The (\S+) was fixed for another customer\.", r"\1 başka bir müşteri için sabitlenmiş."),
        (r"The (\S+) does not match the price token\.", r"\1 fiyat anahtarıyla uyuşmuyor."),
        (r"The (\S+) is invalid\.", r"\1 geçersiz."),
        (r"The (\S+) is not a valid T\.C\. Kimlik No\.", r"\1 geçerli bir T.C. Kimlik No. değil."),
        (r"The (\S+) must be a valid email address\.", r"\1 geçerli bir e-posta adresi olmalıdır."),
        (r"The (\S+) must be a number in E\.164 format\.", r"\1 E.164 biçiminde bir numara olmalıdır."),
        (r"The (\S+) must be 1 to 64 letters, digits, -, _ or \.",
         r"\1 1 ile 64 arası harf, rakam, -, _ veya . olmalıdır."),
        (r"The (\S+) must be 3 to 40 letters, digits, - or _\.", r"\1 3 ile 40 arası harf, rakam, - veya _ olmalıdır."),
        (r"The amount must be greater than 0 with at most 3 decimals\.",
         "Miktar 0'dan büyük ve en çok 3 ondalıklı olmalıdır."),
        (r"The amount is more than the fixed total buys\.", "Miktar, sabitlenen tutarın alabileceğinden fazla."),
        (r"The balance is not enough for this amount\.", "Bakiye bu miktar için yeterli değil."),
        (r"The customer is unknown\.", "Müşteri bulunamadı."),
        (r"The customer must be an object\.", "customer bir nesne olmalıdır."),
        (r"Each item must be an object\.", "Her kalem bir nesne olmalıdır."),
        (r"(\S+) cannot be traded digitally\.", r"\1 dijital olarak alınıp satılamaz."),
        (r"The type must be digital\.", "type digital olmalıdır."),
        (r"A company's identity_number is its 10-digit tax number\.",
         "Bir şirketin identity_number değeri 10 haneli vergi numarasıdır."),
        (r"The tax_office field is required for a company\.", "Şirketler için tax_office alanı zorunludur."),
        (r"The (\S+) must be an integer\.", r"\1 bir tam sayı olmalıdır."),
        (r"The (\S+) must be a date in YYYY-MM-DD format\.", r"\1 YYYY-MM-DD biçiminde bir tarih olmalıdır."),
        (r"The (\S+) must be between (\d+) and (\d+)\.", r"\1 \2 ile \3 arasında olmalıdır."),
        (r"The (\S+) must be at least (\d+)\.", r"\1 en az \2 olmalıdır."),
        (r"The status must be a list of status ids\.", "status, durum numaralarının listesi olmalıdır."),
        (r"The total must be a number greater than 0\.", "total 0'dan büyük bir sayı olmalıdır."),
        (r"The gender must be M or F\.", "gender M veya F olmalıdır."),
        (r"The birthdate is not a valid date\.", "birthdate geçerli bir tarih değil."),
        (r"The body must be valid JSON\.", "Gövde geçerli JSON olmalıdır."),
        (r"The body must be a JSON object\.", "Gövde bir JSON nesnesi olmalıdır."),
        (r"Give exactly one of guid, order_code or external_id\.",
         "guid, order_code veya external_id'den yalnızca birini verin."),
    )
]  # fmt: skip


def language(accept_language: str | None) -> str:
    """``en`` when the caller's first choice is English, else ``tr`` (Minted's default)."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else "tr"


def in_language(text: str, lang: str) -> str:
    if lang == "en":
        return text
    for pattern, turkish in _TURKISH:
        match = pattern.fullmatch(text)
        if match:
            return match.expand(turkish)
    return text
