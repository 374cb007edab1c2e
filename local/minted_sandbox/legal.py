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
