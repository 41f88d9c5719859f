"""A node home made before ADR 0006 (KEK seed in node-kek.json) still unlocks and reads its bodies.

``LEGACY_HOME`` is a home made by the code of commit 10fe6e1 (``create_identity`` for
KOR at 2026-03-01T09:00Z, passphrase ``correct horse``, scrypt N=2^14), byte for byte;
``LEGACY_BODY`` is a body that code encrypted, its data key wrapped under that node's
KEK with the context ``KOR-legacy/1``. Nothing here re-implements the old writer.
"""

from __future__ import annotations

import base64
import errno
import json
import threading

import pytest

from accord.crypto.keystore import KEY_FILE_NAME, decrypt_key_file
from accord.crypto.stream import WrappedKey, decrypt_bytes, unwrap_key
from accord.errors import IntegrityError, StorageError, ValidationError
from accord.services import node

PASSPHRASE = "correct horse"  # noqa: S105 - the legacy home's test passphrase
LEGACY_KEK_ID = "071048bbd17449f13706dac235ad5f1222c728c927a050303e47dfab204a33da"
LEGACY_BODY = {
    "plaintext": b"launch at 05:10 from Sohae",
    "context": b"KOR-legacy/1",
    "ciphertext": "QUNSQgEBAAEAABQmfTmObpYLy3g7cNVYrkfkMjujDtk03jRRECNPUIDmUJ2EtgafeTdmZoS8I4PV2Eo=",
    "wrapped": (
        "AQcQSLvRdEnxNwbawjWtXxIixyjJJ6BQMD5H36sgSjPaSf0ahaVoZ9k3QOBJ8zpT+XSx3Z6dxov+gAn8bEekjCQ+bjfrMEYSV8wc2e8u"
        "VDUIJtyYGkfi4KWsnR1+"
    ),
}
LEGACY_HOME = {
    "node-keys.json": (
        '{"aead":{"name":"AES-256-GCM","nonce":"mdNxlatmorZppmZq"},"ciphertext":"WEbiR_ty6QyEyO_XSqZm6hjl'
        "QT-SA6nLs9q8AdB_E7gUpD3J_SeJPNcvplxMd3IjX7WJYF9doTwaglB9G8Wr5gIbhzBkJdDZBAt9diLrYcGs8COJYjJXmM2b"
        "zWMbfFRmJB07CeQvc9XY-4if2S_5Aj2uj67MLL7K69KvHMRTn0PATKH4Rga5xlK2WU8RjHVrgKijAfc_wFZn006KouOzHE94"
        "AdQXYzAyuDah32_mXtBQ17Ict-FgkQB71G0FM8oN0zO8GWTxjS6c3apDUbE4WXmklEn_LVImXj8r35hBSVGe1FffjqSTJjgi"
        'bZs1nVM0mDlniTDza6mPfA","format":"accord.node-keys/1","history":[{"public":{"format":"accord.nod'
        'e-public-keys/1","kem":[{"algorithm":"MLKEM768-X25519","key_id":"fc17b40f14a02e905b158090cc172f7'
        '5ed81b89b18dc9809fa2cae453929a993","public_key":"NQJ1s1Yj-2uXfiUmBEOieBIb0XcyV7mMeCpsW2t6JSWqipM'
        "731qHgpEEocYhTPuVnxmULxPEUXKiJugFNdYLqmewZgJ2RssjlcsJ4ksID4WUSvwskBdy47Ck6Yiu2cinkVMsEAAFO2CyvRW"
        "xdEwAR9KDYclN_QN7aZC5T5gQXHAeebqf9PspHAhh6CRb5aClRTRIVHrHJFkmpYQtEoaaknlEVFOk3ztpvUtiC1ovjwqTdpA"
        "N2atA8_F9hmEG-wORY-MHMDyZN2wJU-TKuFuGl_M-J4IOzNQqt4GjuUx8ugFAcZFTAwsK2dy_h3x812JdXOFTqlkAu1t3z4h"
        "-U5uOKjjCXzepC1m85_d8hqMQ12JkbuTEepRVndSbadDNGjtuJxyUdVtDjZPICOceQJy9-ojGKcAVLmpiwCzGQkut7QVKb8N"
        "IUtGgmTOKtxe-ttCa4rmX2-YtfvfDk5dJmRlVoLNqSrTLirtPvHDEH8gAnOZW0ZecArU7utS2TSJ5Kzlw3NE9ZktmoahUDZF"
        "SYeBhy1BbAYwPiBmB7WgIwOt2bNVXUIaKIUF1dIC0A6CjTPoP4FcZ__RyK8iZSepDk5W2nYmYr7I7AQuS-HU6ZGhjAgYyFCY"
        "PabK1JnzOMuI7THW9A_MB91cue4KwX2QUM0oHUdJuxRqq3vwpZ8Gx8VWpPss8nzhoWlR16xVKWROq-tREwpe9gAvJecEooDc"
        "VkqROONKPQhZQcoNqnEy_KDMVl0AeRifAmHkXrLsMRTmhxEQ7lIR8GuAD2TJb_HlM5ioqW_SHOpWaDBEimJeD07QYD4EcZFh"
        "MnvBnVdGRKyBo2bOJMlZKM7RI-JgcJdoABtKxcXRuc0NLOuUHEsIbxxdvdlw-2bu7LOgEWhDJeEigMvd0XiyMp9mFhhOujEM"
        "IPQaq6feewfXKgikI2QubXztIc9vKedJNnyBjx8OfSaSXnsJRRQePddeGXNm2iWaaVTicK4wA9CVBdqd-oIouggqMi2QF7cG"
        "0ALSHXaI-9pRb9aOD3Me4x9WuNNRp4URtFsKFD4glhiB0-7mm5_uWBgG--dN-ZENfayHKGbvIiwImwXDI_Jpqm1oDyePDO4F"
        "tgJGqyqFrFihzBzu_faZlO0Ic9RxVHwxdueqGlmQHGRhXj6hNJ0AIFoM7IrAxufWcJyErgSl4WRAAERoc6dOej5GSEqU66fb"
        "F5JqJ4fDJwkcsqmdoR_Zgf5U7VXe8TfVHOrKjKscsZmbMaMCWuocAE1SCXNjE9ZAQBmvBJ1pCsSWLuZgrzXSUSZkPZVyWlDe"
        "pd8vIxOnJD1KhCzKay_BFy6XPJEBxDOKTlIbMEqktJtSlAfgWERE2SZmhvnAGYRQ14SSMsSpA_TVBEpVyjyRg2vtp7bJn5Ad"
        "eSPfJkig-lqtOXlK8h_tR2otIRwIwZYgimTlF9CCQpJsU2EiEJ0UXU9sV3aFva0u3eLK3NjuBKUootOF0glIDQqCWNsOn0Vh"
        "JY4cXjXXFs4pISJF-ZqVS47NYOHWHhIebJnWjIXyHFvcF5fvMC1peBt-ukTWABpY77e7who3FTLKjHPaTJMCFKUa1tOwZALT"
        'IEfRUohsdLRlpv6HwA0iVg4O4XlFK0Dm8a_VOAg"},{"algorithm":"X25519","key_id":"168d974692cc1257e58b43'
        'aa8b6a5544e2f4cd5e7ba46aa135ddc6223cdb1866","public_key":"TcAywzWruZQ4WLI_raj9D7FTrQnGN5vlh7Lq0x'
        '_bRXE"}],"pq_signing":{"algorithm":"ML-DSA-65","key_id":"7b5e71a11ece41b3f4f276e8c41271ec9868b08'
        '3cb41af42080e346440ee1632","public_key":"6-dlGvAxRagP_x8NGlU7O2qM0kzqPvbdS_fZFw9L2jJnmHMA5yCgCU0'
        "V-FzRNtSmiDtHvSLK3_SS4PqhHdrzeuXuv00DwIWiaSnzb5M-MNBHVDD03thTrlcPG2sJiYpWP-cVj4qzxXFVrOlH1Nkz7zj"
        "ZePG9bZ_V9eXvxEP5YKf_zuOjAiwci08VI4VBlTmQY9iisztZxqcvUmaHYTkVRJaAnPpnzKfHB7FmaeKJcCFGXpCAbeWK3qC"
        "N0SMO7o-z2Nihogfl_I5nDz3Nio4xfnuiARIc4sz5xRLaVZBNIWTtidxRDCdY3buKs3S2fEYAIe8D3kPo2P-tdRgl3p25DAl"
        "ShdeCPRcEJ-QDalRBKwxcL4l-KBqbZMkIkN7iw7Gmc2VBGeiYnlh_aZOIJXI9whrVdqBqU_3p-_W2cKNhWBBVWa4Ox-5YfGw"
        "5MbazpXUJP3Ru8lzcLGRklkii549wX9eTHvjcsgmINxT-1WOm9ft5MGV_NHs2LIciyMcLSQzT2WLi9MhTJnjbPeU3UqXvRNa"
        "eDHae5SBtm1qdqnyJloYbsHF5aCTSfRezy2Mv1shZ3WfKVVw1ZZYU-WsmuEoYxpfpcPst8YmglfP0mRJueSgKkK-S1qkxz-1"
        "6y10GXs1gRNB-ED3Jvd0Vv9K3RyZkk-DBM-Br8igzSljBZgispPVdup-EfYdXXt2qKq1PBIPf8Dmyu8fnHWMWc3GU2xo5NPH"
        "Qq9LD8BIG1Nvexw844Mo8j_XHDOiyEnyXoD65oW6IeXltUGqGOODjAArGnorWHRa4PJslXvNTA339xbHBF4Rn-vT-39xYhMU"
        "6gCNZ4-p1DQwkvsgb41XMQRPIyBL1Ys6rt_AreacpTr3SmV23i9D5MDIleRPkd_UnusPYZN9N4tLsawlcafHWB5Kbcos6TVP"
        "gKyXcAcepRhToJkWVZTj4qvycEAAPVzVeruW6n72u3-O-n7CwQpCxU4RxU_WBuVBL2C6O9XmAdYmgLzwgimpiNSS7uYnqrlA"
        "f9mC1YUsMsnLVF5fOIUgCnfXzV1XzD10NLc6Xi7ROt8RvdQ5dnqRyweq-o34ugsTh96CeMQF4YHfBWKNdV2PxKnrR7UFnx8t"
        "lDoSiLwSH0nZym2OijF0O4prqxsCxVnGofSI8sN2i0GUP-hWdmvBLhLKf8KFtrIHELREZ4WNTmX4X122SZqwKNoWsrHJek3Q"
        "Nofj1HSO3THA1dOumxGNPLkGEDoD14y_u9ABeRCOqTyO-m95QFjDRr9ZV6IoW_zg6l7z8_dlY_J0mXmwzoNyFXmkVZHK4NAz"
        "hbh-3-6CN3jD-sOuBGY6rKaE_ucg1geAyI2Bleu6pgF8Vm5TZJ0tDul8CVxUrKnDWRtWbMu7flLagfGzimfxxUqXQeC7NI6e"
        "MNU6LlTMWM-K4uTM3Km5avrYEkUqfdNl9Po0AzLPUoJe8P-r3fRvXVE36hOWay-5V0PGY8vTbf9OmzimJ4gi13B30w4G2-JZ"
        "wRdVdHWfpKsNkOxVzpXrTxkvuxPih_shPOv2kid5rdiyVwC6DnLuB2PZH4soozq_8AL7aw0_nOyJew4cw14SbEYPht92vBl7"
        "5X0wSGOQg-doLcXoy2udPAiUOM4VWvkbvtpjvDvVX_VaWKXQvC21nRn1_QPHDOPh337GRlEV60UAbAsyIelJXwJEeZmfb6EA"
        "YymyCgBl4k-f0PxFo84-C_Khu_g7esICN851O2TId5pxd5eF2AGkUiVScbbGaLL8Fg1v9A-71cirUfv0GpPo1wydEKlShm9o"
        "fABzVAiAGpXLQVXuNeH1qUoqg0tLahojpjiKVKuWLZ3ISyzhrUfmmukq4uTLrjB4yzDyJceZNV5yyop1ze5Mj8MMIsHGmHge"
        "UKvi-R8Dq7AN5G0jLu3PynorM1c6MoFSue4y-jg3EaQM-FoBXxlAVNqWnTE7_ZbedhFZKGKNKbTc3b6rcjFcLym75KgREWO1"
        "XuJGC4iY2Fj-c_cdwd2pXHy8fA4ijbyLxcUZhuUI56IW85XWkuxjOEKDDGH0pvMP9HjoXSitECMHiIwPz5P3VdHuQx_DTqng"
        "Eh22qRiB2brsHkmnM7uujGvWKjlzpzN9KEATzt8ObR9gfqxcYGdZvPWnY8usgJ2o5L86gRcifKJKuluFxELWGsO0o58r685H"
        "f8SdNuzC9bAgb0awcRnbtHnSH3GtcRU0fVW1vI0npWas3j_WGXIf4APZZHIdaosljEWyDMToSl4YZgXRu6gculFg2SxcnNhq"
        "NUTUgzpIJFdrpP0o5cgNYfGw2xM93w21euiSFV_-jsUtmLwCBs_rV-ad7ZcJ98kG6oGAlNcQiM27KSvhOG5RcHfz0ACzgRaw"
        "-0AluFnYx0blhNQztIFThRlFUjx11hDPLIUC2NHBTb4hmRRHdr9-oE55VMQeOsDqZPuNhW2ZTVO_usq9GONiA5UPFegtGCAZ"
        "vq7IBbANqzu2ay5B6J-PIe__v_FBeZyFp2hybxkdWtwBMPaPVHDxJykQb0TXL8a2rNuBBW1Uvbkz0j9tiJsao15hnAbaQHuT"
        '5Id3RXsYT0zf1Fumr3PXaHHm0w87ONJmKQXcGEpGzDSu1fEB5RG4"},"signing":{"algorithm":"Ed25519","key_id"'
        ':"e3bc59b43445faaa850d15d57bf17a1fb936039ab0f15585af022c54889a0560","public_key":"PQc8-q3pTh5ZU9'
        'Um0ssLsoFNopthRNEW0zS33WhTS2E"}},"valid_from":"2026-03-01T09:00:00+00:00","valid_until":null}],"'
        'kdf":{"n":16384,"name":"scrypt","p":1,"r":8,"salt":"UJdT9wqhimLZYG_yRaBNvQ"}}'
    ),
    "node-kek.json": (
        '{"format": "accord.node-kek/1", "wrapped": "Ac0+UqvaWFSKr/YFrADdY2zg5EHixNswfjyZiT4yk+znRStKgInn'
        'CahOnd5tF9Yc7tPfYkTHxm/wgSA+FzvV1b65E/kxfpTTC4lFbuIkDIKzTvUeifNk7IntSvUJ"}'
    ),
    "node.json": (
        '{\n  "format": "accord.node/1",\n  "party": "KOR",\n  "created_at": "2026-03-01T09:00:00+00:00",\n  '
        '"public_keys": {\n    "format": "accord.node-public-keys/1",\n    "signing": {\n      "algorithm": '
        '"Ed25519",\n      "key_id": "e3bc59b43445faaa850d15d57bf17a1fb936039ab0f15585af022c54889a0560",\n '
        '     "public_key": "PQc8-q3pTh5ZU9Um0ssLsoFNopthRNEW0zS33WhTS2E"\n    },\n    "pq_signing": {\n    '
        '  "algorithm": "ML-DSA-65",\n      "key_id": "7b5e71a11ece41b3f4f276e8c41271ec9868b083cb41af42080'
        'e346440ee1632",\n      "public_key": "6-dlGvAxRagP_x8NGlU7O2qM0kzqPvbdS_fZFw9L2jJnmHMA5yCgCU0V-Fz'
        "RNtSmiDtHvSLK3_SS4PqhHdrzeuXuv00DwIWiaSnzb5M-MNBHVDD03thTrlcPG2sJiYpWP-cVj4qzxXFVrOlH1Nkz7zjZePG"
        "9bZ_V9eXvxEP5YKf_zuOjAiwci08VI4VBlTmQY9iisztZxqcvUmaHYTkVRJaAnPpnzKfHB7FmaeKJcCFGXpCAbeWK3qCN0SM"
        "O7o-z2Nihogfl_I5nDz3Nio4xfnuiARIc4sz5xRLaVZBNIWTtidxRDCdY3buKs3S2fEYAIe8D3kPo2P-tdRgl3p25DAlShde"
        "CPRcEJ-QDalRBKwxcL4l-KBqbZMkIkN7iw7Gmc2VBGeiYnlh_aZOIJXI9whrVdqBqU_3p-_W2cKNhWBBVWa4Ox-5YfGw5Mba"
        "zpXUJP3Ru8lzcLGRklkii549wX9eTHvjcsgmINxT-1WOm9ft5MGV_NHs2LIciyMcLSQzT2WLi9MhTJnjbPeU3UqXvRNaeDHa"
        "e5SBtm1qdqnyJloYbsHF5aCTSfRezy2Mv1shZ3WfKVVw1ZZYU-WsmuEoYxpfpcPst8YmglfP0mRJueSgKkK-S1qkxz-16y10"
        "GXs1gRNB-ED3Jvd0Vv9K3RyZkk-DBM-Br8igzSljBZgispPVdup-EfYdXXt2qKq1PBIPf8Dmyu8fnHWMWc3GU2xo5NPHQq9L"
        "D8BIG1Nvexw844Mo8j_XHDOiyEnyXoD65oW6IeXltUGqGOODjAArGnorWHRa4PJslXvNTA339xbHBF4Rn-vT-39xYhMU6gCN"
        "Z4-p1DQwkvsgb41XMQRPIyBL1Ys6rt_AreacpTr3SmV23i9D5MDIleRPkd_UnusPYZN9N4tLsawlcafHWB5Kbcos6TVPgKyX"
        "cAcepRhToJkWVZTj4qvycEAAPVzVeruW6n72u3-O-n7CwQpCxU4RxU_WBuVBL2C6O9XmAdYmgLzwgimpiNSS7uYnqrlAf9mC"
        "1YUsMsnLVF5fOIUgCnfXzV1XzD10NLc6Xi7ROt8RvdQ5dnqRyweq-o34ugsTh96CeMQF4YHfBWKNdV2PxKnrR7UFnx8tlDoS"
        "iLwSH0nZym2OijF0O4prqxsCxVnGofSI8sN2i0GUP-hWdmvBLhLKf8KFtrIHELREZ4WNTmX4X122SZqwKNoWsrHJek3QNofj"
        "1HSO3THA1dOumxGNPLkGEDoD14y_u9ABeRCOqTyO-m95QFjDRr9ZV6IoW_zg6l7z8_dlY_J0mXmwzoNyFXmkVZHK4NAzhbh-"
        "3-6CN3jD-sOuBGY6rKaE_ucg1geAyI2Bleu6pgF8Vm5TZJ0tDul8CVxUrKnDWRtWbMu7flLagfGzimfxxUqXQeC7NI6eMNU6"
        "LlTMWM-K4uTM3Km5avrYEkUqfdNl9Po0AzLPUoJe8P-r3fRvXVE36hOWay-5V0PGY8vTbf9OmzimJ4gi13B30w4G2-JZwRdV"
        "dHWfpKsNkOxVzpXrTxkvuxPih_shPOv2kid5rdiyVwC6DnLuB2PZH4soozq_8AL7aw0_nOyJew4cw14SbEYPht92vBl75X0w"
        "SGOQg-doLcXoy2udPAiUOM4VWvkbvtpjvDvVX_VaWKXQvC21nRn1_QPHDOPh337GRlEV60UAbAsyIelJXwJEeZmfb6EAYymy"
        "CgBl4k-f0PxFo84-C_Khu_g7esICN851O2TId5pxd5eF2AGkUiVScbbGaLL8Fg1v9A-71cirUfv0GpPo1wydEKlShm9ofABz"
        "VAiAGpXLQVXuNeH1qUoqg0tLahojpjiKVKuWLZ3ISyzhrUfmmukq4uTLrjB4yzDyJceZNV5yyop1ze5Mj8MMIsHGmHgeUKvi"
        "-R8Dq7AN5G0jLu3PynorM1c6MoFSue4y-jg3EaQM-FoBXxlAVNqWnTE7_ZbedhFZKGKNKbTc3b6rcjFcLym75KgREWO1XuJG"
        "C4iY2Fj-c_cdwd2pXHy8fA4ijbyLxcUZhuUI56IW85XWkuxjOEKDDGH0pvMP9HjoXSitECMHiIwPz5P3VdHuQx_DTqngEh22"
        "qRiB2brsHkmnM7uujGvWKjlzpzN9KEATzt8ObR9gfqxcYGdZvPWnY8usgJ2o5L86gRcifKJKuluFxELWGsO0o58r685Hf8Sd"
        "NuzC9bAgb0awcRnbtHnSH3GtcRU0fVW1vI0npWas3j_WGXIf4APZZHIdaosljEWyDMToSl4YZgXRu6gculFg2SxcnNhqNUTU"
        "gzpIJFdrpP0o5cgNYfGw2xM93w21euiSFV_-jsUtmLwCBs_rV-ad7ZcJ98kG6oGAlNcQiM27KSvhOG5RcHfz0ACzgRaw-0Al"
        "uFnYx0blhNQztIFThRlFUjx11hDPLIUC2NHBTb4hmRRHdr9-oE55VMQeOsDqZPuNhW2ZTVO_usq9GONiA5UPFegtGCAZvq7I"
        "BbANqzu2ay5B6J-PIe__v_FBeZyFp2hybxkdWtwBMPaPVHDxJykQb0TXL8a2rNuBBW1Uvbkz0j9tiJsao15hnAbaQHuT5Id3"
        'RXsYT0zf1Fumr3PXaHHm0w87ONJmKQXcGEpGzDSu1fEB5RG4"\n    },\n    "kem": [\n      {\n        "algorithm'
        '": "MLKEM768-X25519",\n        "key_id": "fc17b40f14a02e905b158090cc172f75ed81b89b18dc9809fa2cae4'
        '53929a993",\n        "public_key": "NQJ1s1Yj-2uXfiUmBEOieBIb0XcyV7mMeCpsW2t6JSWqipM731qHgpEEocYhT'
        "PuVnxmULxPEUXKiJugFNdYLqmewZgJ2RssjlcsJ4ksID4WUSvwskBdy47Ck6Yiu2cinkVMsEAAFO2CyvRWxdEwAR9KDYclN_"
        "QN7aZC5T5gQXHAeebqf9PspHAhh6CRb5aClRTRIVHrHJFkmpYQtEoaaknlEVFOk3ztpvUtiC1ovjwqTdpAN2atA8_F9hmEG-"
        "wORY-MHMDyZN2wJU-TKuFuGl_M-J4IOzNQqt4GjuUx8ugFAcZFTAwsK2dy_h3x812JdXOFTqlkAu1t3z4h-U5uOKjjCXzepC"
        "1m85_d8hqMQ12JkbuTEepRVndSbadDNGjtuJxyUdVtDjZPICOceQJy9-ojGKcAVLmpiwCzGQkut7QVKb8NIUtGgmTOKtxe-t"
        "tCa4rmX2-YtfvfDk5dJmRlVoLNqSrTLirtPvHDEH8gAnOZW0ZecArU7utS2TSJ5Kzlw3NE9ZktmoahUDZFSYeBhy1BbAYwPi"
        "BmB7WgIwOt2bNVXUIaKIUF1dIC0A6CjTPoP4FcZ__RyK8iZSepDk5W2nYmYr7I7AQuS-HU6ZGhjAgYyFCYPabK1JnzOMuI7T"
        "HW9A_MB91cue4KwX2QUM0oHUdJuxRqq3vwpZ8Gx8VWpPss8nzhoWlR16xVKWROq-tREwpe9gAvJecEooDcVkqROONKPQhZQc"
        "oNqnEy_KDMVl0AeRifAmHkXrLsMRTmhxEQ7lIR8GuAD2TJb_HlM5ioqW_SHOpWaDBEimJeD07QYD4EcZFhMnvBnVdGRKyBo2"
        "bOJMlZKM7RI-JgcJdoABtKxcXRuc0NLOuUHEsIbxxdvdlw-2bu7LOgEWhDJeEigMvd0XiyMp9mFhhOujEMIPQaq6feewfXKg"
        "ikI2QubXztIc9vKedJNnyBjx8OfSaSXnsJRRQePddeGXNm2iWaaVTicK4wA9CVBdqd-oIouggqMi2QF7cG0ALSHXaI-9pRb9"
        "aOD3Me4x9WuNNRp4URtFsKFD4glhiB0-7mm5_uWBgG--dN-ZENfayHKGbvIiwImwXDI_Jpqm1oDyePDO4FtgJGqyqFrFihzB"
        "zu_faZlO0Ic9RxVHwxdueqGlmQHGRhXj6hNJ0AIFoM7IrAxufWcJyErgSl4WRAAERoc6dOej5GSEqU66fbF5JqJ4fDJwkcsq"
        "mdoR_Zgf5U7VXe8TfVHOrKjKscsZmbMaMCWuocAE1SCXNjE9ZAQBmvBJ1pCsSWLuZgrzXSUSZkPZVyWlDepd8vIxOnJD1KhC"
        "zKay_BFy6XPJEBxDOKTlIbMEqktJtSlAfgWERE2SZmhvnAGYRQ14SSMsSpA_TVBEpVyjyRg2vtp7bJn5AdeSPfJkig-lqtOX"
        "lK8h_tR2otIRwIwZYgimTlF9CCQpJsU2EiEJ0UXU9sV3aFva0u3eLK3NjuBKUootOF0glIDQqCWNsOn0VhJY4cXjXXFs4pIS"
        "JF-ZqVS47NYOHWHhIebJnWjIXyHFvcF5fvMC1peBt-ukTWABpY77e7who3FTLKjHPaTJMCFKUa1tOwZALTIEfRUohsdLRlpv"
        '6HwA0iVg4O4XlFK0Dm8a_VOAg"\n      },\n      {\n        "algorithm": "X25519",\n        "key_id": "16'
        '8d974692cc1257e58b43aa8b6a5544e2f4cd5e7ba46aa135ddc6223cdb1866",\n        "public_key": "TcAywzWr'
        'uZQ4WLI_raj9D7FTrQnGN5vlh7Lq0x_bRXE"\n      }\n    ]\n  },\n  "fingerprint": "4a6e48773494ac4f935009'
        '634416f8816347076c50747d6079d351d446787d22"\n}\n'
    ),
}


@pytest.fixture
def home(tmp_path):
    """A copy of the legacy home."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    for name, text in LEGACY_HOME.items():
        (home / name).write_text(text, encoding="utf-8")
    return home


def snapshot(home):
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.name != node.LOCK_FILE_NAME}


def read_legacy_body(kek):
    wrapped = WrappedKey.from_bytes(base64.b64decode(LEGACY_BODY["wrapped"]))
    key = unwrap_key(wrapped, kek, context=LEGACY_BODY["context"])
    return decrypt_bytes(base64.b64decode(LEGACY_BODY["ciphertext"]), key)


def key_file(home):
    return decrypt_key_file((home / KEY_FILE_NAME).read_bytes(), PASSPHRASE)


def test_the_legacy_home_is_what_the_old_code_wrote(home):
    assert json.loads((home / KEY_FILE_NAME).read_bytes())["format"] == "accord.node-keys/1"
    assert key_file(home).body_kek_seed is None
    identity = node.read_identity(home)
    assert identity.party == "KOR"
    assert len(identity.history) == 1  # a node file without key_history: one generation from created_at


def test_unlock_moves_the_kek_seed_into_the_key_file_and_bodies_stay_readable(home):
    node_file = (home / node.NODE_FILE_NAME).read_bytes()
    unlocked = node.unlock(home, PASSPHRASE)
    assert unlocked.kek.key_id == LEGACY_KEK_ID
    assert read_legacy_body(unlocked.kek) == LEGACY_BODY["plaintext"]
    assert not (home / node.KEK_FILE_NAME).exists()
    migrated = key_file(home)
    assert json.loads((home / KEY_FILE_NAME).read_bytes())["format"] == "accord.node-keys/2"
    assert migrated.body_kek_seed is not None
    assert migrated.ring == unlocked.ring
    assert migrated.params.n == 2**14  # the cost the file had
    assert (home / node.NODE_FILE_NAME).read_bytes() == node_file
    settled = snapshot(home)
    assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID
    assert snapshot(home) == settled  # migrated once: nothing is rewritten


def test_the_seed_stays_in_the_old_file_when_the_key_file_cannot_be_written(home, monkeypatch):
    before = snapshot(home)

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(node, "save_key_file", disk_full)
    assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID
    assert snapshot(home) == before
    monkeypatch.undo()
    assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID
    assert not (home / node.KEK_FILE_NAME).exists()


def test_an_old_kek_file_left_by_a_migration_cut_short_is_removed(home):
    old_kek_file = (home / node.KEK_FILE_NAME).read_bytes()
    node.unlock(home, PASSPHRASE)
    (home / node.KEK_FILE_NAME).write_bytes(old_kek_file)  # as if killed before the removal
    assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID
    assert not (home / node.KEK_FILE_NAME).exists()


def test_an_old_kek_file_that_does_not_match_the_key_file_is_left_in_place(home, caplog):
    node.unlock(home, PASSPHRASE)
    stray = json.loads(LEGACY_HOME[node.KEK_FILE_NAME])
    stray["wrapped"] = stray["wrapped"][:-4] + ("AAAA" if not stray["wrapped"].endswith("AAAA") else "BBBB")
    (home / node.KEK_FILE_NAME).write_text(json.dumps(stray))  # e.g. restored from another backup
    with caplog.at_level("WARNING", logger="accord.services.node"):
        assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID
    assert (home / node.KEK_FILE_NAME).exists()
    assert "left in place" in caplog.text


def test_concurrent_unlocks_of_a_legacy_home_agree(home):
    results, errors = [], []

    def run():
        try:
            results.append(node.unlock(home, PASSPHRASE).kek.key_id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [LEGACY_KEK_ID] * 4
    assert key_file(home).body_kek_seed is not None
    assert not (home / node.KEK_FILE_NAME).exists()


def test_rotating_a_legacy_home_keeps_its_kek(home):
    old = node.read_identity(home)
    rotation = node.rotate_keys(home, PASSPHRASE, at=old.history[0].valid_from.replace(year=2027))
    assert not (home / node.KEK_FILE_NAME).exists()
    assert key_file(home).body_kek_seed is not None
    assert [g.public for g in rotation.identity.history] == [old.public, rotation.identity.public]
    unlocked = node.unlock(home, PASSPHRASE)
    assert unlocked.kek.key_id == LEGACY_KEK_ID
    assert read_legacy_body(unlocked.kek) == LEGACY_BODY["plaintext"]


def test_a_failed_rotation_of_a_legacy_home_changes_nothing(home, monkeypatch):
    before = snapshot(home)

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(node, "_write_node_file", disk_full)
    with pytest.raises(StorageError, match="not rotated"):
        node.rotate_keys(home, PASSPHRASE, at=node.read_identity(home).history[0].valid_from.replace(year=2027))
    assert snapshot(home) == before  # the old key file is back, node-kek.json untouched
    monkeypatch.undo()
    assert node.unlock(home, PASSPHRASE).kek.key_id == LEGACY_KEK_ID


def test_a_wrong_passphrase_changes_nothing(home):
    before = snapshot(home)
    with pytest.raises(IntegrityError, match="wrong passphrase"):
        node.unlock(home, "wrong horse")
    assert snapshot(home) == before


def test_a_changed_kek_file_does_not_open(home):
    path = home / node.KEK_FILE_NAME
    document = json.loads(path.read_bytes())
    raw = bytearray(base64.b64decode(document["wrapped"]))
    raw[-1] ^= 1
    document["wrapped"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(document))
    before = snapshot(home)
    with pytest.raises(IntegrityError):
        node.unlock(home, PASSPHRASE)
    assert snapshot(home) == before


def test_a_missing_kek_file_says_what_to_restore(home):
    (home / node.KEK_FILE_NAME).unlink()
    with pytest.raises(ValidationError, match=r"node-kek\.json") as refused:
        node.unlock(home, PASSPHRASE)
    assert "backup" in refused.value.hint
