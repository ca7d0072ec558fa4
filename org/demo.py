"""The demo center's organisation: 10 branches of Tianjin districts, head-office departments,
494 outlets and the staff of DESIGN.md §6. Deterministic: the same data every run."""

from .models import StaffProfile, Unit
from .roles import Role

# (code, district, English district) — the bank's 10 legal-entity branches (区县行社).
BRANCHES = [
    ("B01", "东丽区", "Dongli"),
    ("B02", "西青区", "Xiqing"),
    ("B03", "津南区", "Jinnan"),
    ("B04", "北辰区", "Beichen"),
    ("B05", "武清区", "Wuqing"),
    ("B06", "宝坻区", "Baodi"),
    ("B07", "宁河区", "Ninghe"),
    ("B08", "静海区", "Jinghai"),
    ("B09", "蓟州区", "Jizhou"),
    ("B10", "滨海新区", "Binhai New Area"),
]
# Outlets per branch: 494 in all, as in the founding document.
OUTLETS_PER_BRANCH = [62, 58, 47, 51, 55, 44, 39, 48, 46, 44]

DEPARTMENTS = [
    ("CARD", "银行卡部", "Card Department"),
    ("RETAIL", "零售业务部", "Retail Banking Department"),
    ("RISK", "风险管理部", "Risk Management Department"),
    ("IT", "信息科技部", "Information Technology Department"),
    ("ACCT", "会计结算部", "Accounting and Settlement Department"),
    ("EBANK", "电子银行部", "E-banking Department"),
]

# Place-like name stems for outlets (营业网点): "<district short><stem>分理处".
OUTLET_STEMS = [
    "中心",
    "新华",
    "建设",
    "人民",
    "胜利",
    "解放",
    "和平",
    "东风",
    "红旗",
    "光明",
    "幸福",
    "团结",
    "文化",
    "友谊",
    "青年",
    "工农",
    "兴华",
    "振兴",
    "金桥",
    "新村",
    "开发区",
    "工业园",
    "站前",
    "河东",
    "河西",
    "城关",
    "南关",
    "北关",
    "西关",
    "东关",
    "新城",
    "老城",
    "朝阳",
    "向阳",
    "丰收",
    "富民",
    "安居",
    "长青",
    "永安",
    "太平",
    "康宁",
    "育才",
    "商贸",
    "物流园",
    "农贸",
    "鑫源",
    "广场",
    "湖滨",
    "运河",
    "海河",
    "滨河",
    "花园",
    "颐和",
    "锦绣",
    "华庭",
    "翠林",
    "瑞景",
    "怡园",
    "世纪",
    "东方",
    "宏达",
    "汇丰",
]

# The center's 20 staff, branch staff, the risk officer and the switch (DESIGN.md §6).
CENTER_STAFF = [
    ("director", Role.DIRECTOR, "刘", "建国"),
    ("maintainer", Role.MAINTAINER, "孙", "海涛"),
    ("analyst", Role.ANALYST, "周", "晓梅"),
    ("lead1", Role.TEAM_LEAD, "吴", "静"),
    ("lead2", Role.TEAM_LEAD, "郑", "磊"),
]
AGENT_NAMES = [
    ("王", "芳"),
    ("李", "娟"),
    ("张", "敏"),
    ("刘", "洋"),
    ("陈", "丽"),
    ("杨", "帆"),
    ("黄", "婷"),
    ("赵", "雪"),
    ("周", "杰"),
    ("吴", "倩"),
    ("徐", "莉"),
    ("孙", "悦"),
    ("马", "超"),
    ("朱", "琳"),
    ("胡", "彬"),
]


def outlet_specs():
    """(branch code, outlet code, outlet name) for all 494 outlets."""
    for (code, district, _en), count in zip(BRANCHES, OUTLETS_PER_BRANCH, strict=True):
        short = district.removesuffix("区").removesuffix("新")
        for number in range(1, count + 1):
            stem = OUTLET_STEMS[number - 1]
            yield code, f"{code}-{number:03d}", f"{short}{stem}分理处"


# Mobiles of the staff who get work-order notices by SMS (the director; the branch staff, each
# also the head of their branch in the demo): deterministic, 139 numbers.
DIRECTOR_MOBILE = "13920080001"


def branch_staff_mobile(number: int) -> str:
    """``branch01`` → ``13920081001`` … ``branch10`` → ``13920081010``."""
    return f"1392008{1000 + number:04d}"


def seed_staff_notices() -> int:
    """Give the director and the branch staff their demo mobiles and make each branch's staff its
    head, where not set yet (a second run, or a maintainer's own edit, is left as is); returns the
    rows changed. Runs after the staff exist."""
    changed = StaffProfile.objects.filter(user__username="director", mobile="").update(mobile=DIRECTOR_MOBILE)
    for number, (code, _district, _en) in enumerate(BRANCHES, start=1):
        username = f"branch{number:02d}"
        changed += StaffProfile.objects.filter(user__username=username, mobile="").update(
            mobile=branch_staff_mobile(number)
        )
        profile = StaffProfile.objects.filter(user__username=username, unit__code=code).first()
        if profile is not None:
            changed += Unit.objects.filter(code=code, head__isnull=True).update(head=profile.user_id)
    return changed
