"""Legal documents the sandbox serves (contract section 8)."""

from __future__ import annotations

DOCUMENTS = {
    "user_agreement": ("Kullanıcı Sözleşmesi", "3.2"),
    "kvkk_disclosure": ("KVKK Aydınlatma Metni", "2.1"),
    "pre_information": ("Ön Bilgilendirme Formu", "1.4"),
    "distance_sales": ("Mesafeli Satış Sözleşmesi", "1.7"),
}
UPDATED_AT = "2024-07-19T09:39:03.000000Z"


def summary(doc_type: str) -> dict[str, str]:
    title, version = DOCUMENTS[doc_type]
    return {"type": doc_type, "title": title, "version": version}


def document(doc_type: str, base_url: str) -> dict[str, str]:
    title, version = DOCUMENTS[doc_type]
    return {
        **summary(doc_type),
        "content": f"<h1>{title}</h1><p>Sürüm {version}. Bu metin sandbox içindir; gerçek metin Minted'den gelir.</p>",
        "pdf_url": f"{base_url}/legal/{doc_type}.pdf",
        "updated_at": UPDATED_AT,
    }


def pdf(doc_type: str) -> bytes:
    """A one-page PDF with the document's title, so that the ``pdf_url`` the sandbox hands out opens."""
    title, version = DOCUMENTS[doc_type]
    # Standard PDF fonts only know Latin-1; the Turkish letters are spelt plainly in this stand-in.
    text = f"{title} {version} (Minted sandbox)".translate(str.maketrans("ıİşŞğĞ", "iIsSgG"))
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
