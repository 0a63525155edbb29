"""Lead rules with no I/O: sources, intent levels (意向级别)."""
from __future__ import annotations

#: lead sources (顾客来源) from domain.md; a group may narrow or extend this list
SOURCES: dict[str, str] = {
    "walk_in": "来店",
    "phone_in": "来电",
    "owner_replacement": "置换/增购",
    "owner_referral": "保有客户介绍",
    "internal_referral": "内部情报",
    "informant": "情报提供",
    "targeted_prospecting": "特定筛选",
    "area_canvassing": "区域攻击",
    "advertising": "广告",
    "online": "网络/官网",
    "event": "活动/试驾会",
    "service_customer": "服务站客户",
}

#: N = new, not yet judged; then C, B, A, H, O by rising purchase intent
LEVELS = ("N", "C", "B", "A", "H", "O")
CLOSED = ("delivered", "defeated", "invalid")


def channel_of(source: str) -> str:
    """The channel analytics groups sources by: showroom, phone, online, referral, marketing."""
    return {
        "walk_in": "showroom",
        "phone_in": "phone",
        "online": "online",
        "owner_replacement": "referral",
        "owner_referral": "referral",
        "internal_referral": "referral",
        "informant": "referral",
        "service_customer": "referral",
    }.get(source, "marketing")
