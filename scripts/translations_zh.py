"""One-off helper: fill the zh_Hans catalog from this table (kept for later additions).

Run ``python manage.py makemessages -l zh_Hans`` then ``python scripts/translations_zh.py``;
entries already translated in the .po are left alone.
"""

from pathlib import Path

import polib

ZH = {
    "Agents": "座席管理",
    "Agent desktop": "座席工作台",
    "Call handling with screen-pop, state bar, wrap-up and callbacks arrives with the calls and queues release.": "来电弹屏、状态栏、话后处理与回访功能将随“呼叫与队列”版本上线。",
    "Audit log": "审计日志",
    "time": "时间",
    "actor": "操作人",
    "actor username": "操作人用户名",
    "actor role": "操作人角色",
    "action": "操作",
    "object type": "对象类型",
    "object id": "对象编号",
    "IP address": "IP 地址",
    "details": "详情",
    "audit event": "审计记录",
    "audit events": "审计记录",
    "Core banking": "核心银行",
    "Risk alerts": "风险预警",
    "Suspicious-activity alerts and statistics of queried accounts arrive with the core banking and risk release.": "可疑交易预警与被查询账户统计将随“核心银行与风险”版本上线。",
    "Calls and queues": "呼叫与队列",
    "Wallboard": "监控大屏",
    "Live queues and agent states arrive with the calls and queues release.": "实时队列与座席状态将随“呼叫与队列”版本上线。",
    "No such API endpoint.": "没有这个接口。",
    "Internal error; it has been logged.": "系统内部错误，已记录。",
    "Simplified Chinese": "简体中文",
    "English": "英语",
    "Customer Service Center · Administration": "客户服务中心 · 系统管理",
    "Customer Service Center": "客户服务中心",
    "System administration": "系统管理",
    "IVR": "自助语音服务",
    "IVR simulator": "语音导航模拟器",
    "A phone keypad to place test calls through the IVR arrives with the IVR release.": "用于拨打测试电话的模拟拨号盘将随“自助语音服务”版本上线。",
    "Notifications": "短信通知",
    "Organisation": "组织机构",
    "Too many failed logins: this account is locked for %(minutes)d minutes. "
    "Ask the system maintainer to unlock it sooner.": "登录失败次数过多：该账号已锁定 %(minutes)d 分钟。如需提前解锁，请联系系统维护员。",
    "Wrong username or password.": "用户名或密码错误。",
    "Branch": "区县行社",
    "Head-office department": "总行部室",
    "code": "代码",
    "name": "名称",
    "English name": "英文名称",
    "kind": "类型",
    "head of unit": "单位负责人",
    "Receives escalations of the unit's overdue work orders.": "接收本单位超期工单的督办。",
    "active": "启用",
    "unit": "单位",
    "units": "单位",
    "address": "地址",
    "outlet": "营业网点",
    "outlets": "营业网点",
    "user": "用户",
    "role": "角色",
    "phone extension": "分机号",
    "staff profile": "员工档案",
    "staff profiles": "员工档案",
    "Branch / department staff must belong to a unit.": "行社 / 部室人员必须隶属于一个单位。",
    "Work-order inbox": "工单收件箱",
    "Work orders": "工单管理",
    "Dashboard": "运营看板",
    "System configuration": "系统配置",
    "Director": "中心主任",
    "System maintainer": "系统维护员",
    "Analyst": "综合员",
    "Team lead": "座席班长",
    "Seat agent": "座席员",
    "Branch / department staff": "行社 / 部室人员",
    "Risk officer": "风险专员",
    "Telephone switch (service account)": "电话交换机（服务账号）",
    "System health": "系统运行状态",
    "Mode": "运行模式",
    "Full stack (PostgreSQL, Redis)": "完整部署（PostgreSQL、Redis）",
    "Embedded (SQLite, in-process)": "内嵌模式（SQLite、进程内任务）",
    "Database": "数据库",
    "OK": "正常",
    "Not configured": "未配置",
    "Error": "故障",
    "Machine-readable:": "机器可读：",
    "API documentation": "接口文档",
    "Administration": "管理",
    "Users and roles": "用户与角色",
    "Units and outlets": "单位与营业网点",
    "Failed logins and lockouts": "登录失败与锁定",
    "Scheduled tasks": "定时任务",
    "Administration pages are for the system maintainer.": "管理页面仅供系统维护员使用。",
    "IVR menus, prompts, queues, skills and the holiday calendar will be edited here once those features are built.": "语音菜单、提示音、队列、技能与节假日日历将在相应功能上线后在此维护。",
    "Units": "单位",
    "%(n)s outlets": "%(n)s 个营业网点",
    "Code": "代码",
    "Name": "名称",
    "Kind": "类型",
    "Outlets": "营业网点",
    "No pages for this account": "此账号没有页面",
    "This account is a service account and has no pages. Use the API.": "此账号为服务账号，没有页面，请使用接口。",
    "Permission denied.": "无权访问。",
    "Reports": "统计报表",
    "Service level, abandon rate, handle times and work-order KPIs appear here once calls and work orders are "
    "recorded by the platform.": "服务水平、放弃率、处理时长与工单指标将在平台开始记录呼叫与工单后在此显示。",
    "Phone Banking": "电话银行",
    "Main navigation": "主导航",
    "Language": "语言",
    "Switch": "切换",
    "Log out": "退出",
    "Phone-banking customer service center": "电话银行客户服务中心",
    "Permission denied": "无权访问",
    "Your role does not give access to this page. The attempt has been recorded.": "您的角色无权访问此页面，本次访问已记录。",
    "Go to your home page": "返回我的首页",
    "Page not found": "页面不存在",
    "Not yet available.": "尚未开放。",
    "Nothing on this page is simulated: it will show real data once the feature is built.": "本页不展示任何模拟数据：功能上线后将显示真实数据。",
    "Account locked": "账号已锁定",
    "Back to the login page": "返回登录页",
    "Log in": "登录",
    "Staff of the customer service center, the branches and the head-office departments.": "供客户服务中心、各区县行社及总行部室工作人员使用。",
    "Wrong username or password. Repeated failures lock the account.": "用户名或密码错误。多次失败将锁定账号。",
    "Username": "用户名",
    "Password": "密码",
    "Your unit's complaint work orders, with due times and the reply form, arrive with the work-order release.": "本单位的投诉工单（含办结时限与回复表单）将随“工单”版本上线。",
    "Dispatching complaints to branches and departments and chasing overdue work orders arrive with the "
    "work-order release.": "向各行社、部室派发投诉工单及督办超期工单的功能将随“工单”版本上线。",
    "The request body is not valid JSON.": "请求内容不是有效的 JSON。",
    "Unknown field.": "未知字段。",
    "Expected a JSON object.": "请求内容应为 JSON 对象。",
}
ZH_PLURAL = {"%(counter)s unit": "%(counter)s 个单位"}


def main() -> None:
    path = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.po"
    catalog = polib.pofile(str(path))
    catalog.metadata["Language"] = "zh_Hans"
    catalog.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    catalog.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    for entry in catalog:
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
            entry.msgstr = ""
            entry.msgstr_plural = {}
        if entry.msgid_plural and not entry.msgstr_plural.get(0):
            entry.msgstr_plural = {0: ZH_PLURAL.get(entry.msgid, "")}
        elif not entry.msgid_plural and not entry.msgstr:
            entry.msgstr = ZH.get(entry.msgid, "")
    catalog.save()
    missing = [e.msgid for e in catalog.untranslated_entries()]
    print("untranslated:", missing)  # noqa: T201


if __name__ == "__main__":
    main()
