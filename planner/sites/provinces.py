"""Province names the rules match on, written once (a misspelt province silently loses a
province-wide subsidy otherwise). China's 34 provincial-level divisions in their usual English
names, with the pinyin and short forms a user may write instead."""

from __future__ import annotations

import difflib

CN_PROVINCES: tuple[str, ...] = (
    "Anhui", "Beijing", "Chongqing", "Fujian", "Gansu", "Guangdong", "Guangxi", "Guizhou",
    "Hainan", "Hebei", "Heilongjiang", "Henan", "Hong Kong", "Hubei", "Hunan", "Inner Mongolia",
    "Jiangsu", "Jiangxi", "Jilin", "Liaoning", "Macau", "Ningxia", "Qinghai", "Shaanxi",
    "Shandong", "Shanghai", "Shanxi", "Sichuan", "Taiwan", "Tianjin", "Tibet", "Xinjiang",
    "Yunnan", "Zhejiang",
)  # fmt: skip
# Other spellings seen in Chinese and English sources -> the name used here.
CN_ALIASES: dict[str, str] = {
    "neimenggu": "Inner Mongolia", "nei mongol": "Inner Mongolia", "nei menggu": "Inner Mongolia",
    "xizang": "Tibet", "macao": "Macau", "guangxi zhuang": "Guangxi", "ningxia hui": "Ningxia",
    "xinjiang uyghur": "Xinjiang", "xianggang": "Hong Kong", "aomen": "Macau",
}  # fmt: skip


def province_suggestion(country: str, name: str) -> str | None:
    """None when `name` is a known province of `country` (only China is listed); otherwise the
    known name it most likely means, or '' when nothing is close."""
    if country.upper() != "CN" or name in CN_PROVINCES:
        return None
    key = name.strip().lower()
    if key in CN_ALIASES:
        return CN_ALIASES[key]
    lower = {p.lower(): p for p in CN_PROVINCES}
    close = difflib.get_close_matches(key, list(lower), n=1, cutoff=0.6)
    return lower[close[0]] if close else ""
