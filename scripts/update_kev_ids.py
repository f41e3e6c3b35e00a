#!/usr/bin/env python3
"""Regenerates crates/vuln/data/kev_ids.tsv from a CISA KEV catalog JSON.

Usage: scripts/update_kev_ids.py known_exploited_vulnerabilities.json [OUT]

The catalog is published by CISA under CC0 1.0 at
https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json

Columns: cve, date added, web (1 when the entry is exploited through an HTTP(S)
interface a server exposes: VPN and edge appliances, file transfer, CMS, devops, MDM,
webmail, ERP, routers, cameras and NAS web interfaces; 0 otherwise), vendor, product.
The web flag is a maintainer's classification by vendor and product (WEB below), minus
entries of those products reached over another protocol (NOT_HTTP below); it feeds
`scantriage rules coverage`, never a verdict.
"""

import json
import re
import sys

# vendor | product patterns (case-insensitive regex on "vendor | product") whose
# entries are exploited over HTTP(S) against a server.
WEB = [
    r"^adobe \| (coldfusion|commerce|magento|blazeds)",
    r"^advantive ", r"^acclaim ", r"^acronis ", r"^alcatel ", r"^ami ", r"^arcserve ",
    r"^array networks", r"^asus \| .*router", r"^atlassian ", r"^aviatrix ",
    r"^apache \| (apisix|activemq|airflow|couchdb|flink|http server|hugegraph|kylin|log4j|ofbiz|spark|struts|superset|tomcat|solr|druid|shiro|unomi|james)",
    r"^beyondtrust ", r"^bitrix", r"^cwp ", r"^cacti ", r"^centos web panel",
    r"^check point ", r"^checkbox ",
    r"^cisco \| (adaptive security appliance|anyconnect|.*ios xe web ui|identity services engine|prime|.*rv\d|.*rv series|small business|vpn routers|smart licensing|hyperflex|secure access control)",
    r"^citrix \| (application delivery|netscaler|content collaboration|sharefile|sd-wan|xenmobile|gateway)",
    r"^cleo ", r"^commvault ", r"^connectwise ", r"^craft cms", r"^crushftp ",
    r"^cyberpersons ", r"^d-link", r"^dlink", r"^dahua ", r"^dasan ", r"^dotcms", r"^draytek ",
    r"^drupal ", r"^edimax ", r"^elastic ", r"^f5 \| big-ip( configuration| access policy)?$",
    r"^f5 \| big-ip configuration", r"^f5 \| big-ip$", r"^fxc ", r"^fatpipe ",
    r"^fortinet \| (fortios|fortiproxy|fortiweb|multiple products|fortiadc)",
    r"^fortra \| goanywhere", r"^geovision ", r"^gitlab ", r"^gladinet ", r"^grafana ",
    r"^grandstream ", r"^hikvision ", r"^hitachi vantara ", r"^ibm \| (aspera|websphere|infosphere)",
    r"^ignite realtime ",
    r"^ivanti \| (connect secure|cloud services|endpoint manager|sentry|virtual traffic|pulse|epm)",
    r"^jenkins ", r"^jetbrains ", r"^joomla", r"^juniper \| junos", r"^kaseya ", r"^kentico ",
    r"^langflow ", r"^laravel ", r"^looking glass ", r"^mdaemon ", r"^metabase ",
    r"^microsoft \| (exchange|sharepoint|http\.sys|http protocol stack|forefront)",
    r"^minio ", r"^mitel \| (micollab|mivoice)", r"^n-able ", r"^nakivo ", r"^netgear ",
    r"^nuuo ", r"^nagios ", r"^nextgen healthcare ", r"^nice ", r"^north grid ", r"^nostromo ",
    r"^novi survey ", r"^osgeo ", r"^october cms",
    r"^oracle \| (adf|agile|bi publisher|e-business|fusion middleware|weblogic|business intelligence|intelligence enterprise)",
    r"^php( group)? \| (php|fastcgi)", r"^phpunit ", r"^ptzoptics ", r"^paessler ",
    r"^palo alto networks \| (pan-os|expedition)", r"^papercut ", r"^plex ", r"^primetek ",
    r"^progress \| (kemp|moveit|telerik|ws_ftp|whatsup)", r"^projectsend ", r"^pulse secure ",
    r"^qnap", r"^qlik ", r"^qualitia ", r"^quest ", r"^rails ", r"^realtek ", r"^red hat \| jboss",
    r"^rejetto ", r"^reolink ", r"^roundcube ", r"^ruckus ", r"^sap ", r"^samsung \| magicinfo",
    r"^schneider electric \| u\.motion", r"^sciencelogic ", r"^servicenow ", r"^simplehelp",
    r"^sitecore ", r"^solarview ", r"^solarwinds \| (serv-u|web help desk|orion)",
    r"^sonicwall ", r"^sophos ", r"^sunhillo ", r"^synacor ", r"^zimbra", r"^sysaid ", r"^sugarcrm ",
    r"^tibco ", r"^tp-link ", r"^teclib ", r"^telemessage ", r"^telerik ", r"^terramaster ",
    r"^trend micro \| apex central", r"^trimble ", r"^ubiquiti ", r"^lg \| ",
    r"^vmware \| (aria|workspace one|vcenter|vrealize|spring|sd-wan|multiple products)",
    r"^vmware tanzu ", r"^veeam ", r"^versa ", r"^wso2 ", r"^watchguard ", r"^wazuh ",
    r"^webmin ", r"^wing ftp", r"^yiiframework ", r"^zk framework ", r"^zkteco ", r"^zabbix ",
    r"^zoho ", r"^zyxel ", r"^owncloud ", r"^phpmyadmin ", r"^vbulletin", r"^wordpress",
    r"^thinkphp", r"^magento", r"^liferay", r"^mobileiron", r"^nginx ", r"^srimax ",
    r"^trihedral ", r"^four-faith", r"^tenda ", r"^totolink", r"^linksys ", r"^huawei \| .*router",
    r"^openfire", r"^geoserver", r"^confluence", r"^cyberoam", r"^infosphere",
]

# Entries of the products above that are not reached over HTTP(S).
NOT_HTTP = {
    "CVE-2023-46604",  # ActiveMQ OpenWire (61616)
    "CVE-2020-1938",  # Tomcat AJP connector
    "CVE-2024-40711",  # Veeam .NET remoting (8000)
    "CVE-2023-27532",  # Veeam Backup Service (9401)
    "CVE-2022-26500", "CVE-2022-26501",  # Veeam Distribution Service (9380)
    "CVE-2023-48788",  # FortiClient EMS FCTID (8013)
    "CVE-2024-47575",  # FortiManager fgfmd (541)
    "CVE-2021-35394",  # Realtek SDK UDP 9034
    "CVE-2024-3393",  # PAN-OS DNS security
    "CVE-2022-20713",  # Cisco ASA clientless VPN: browser-side
    "CVE-2024-20353", "CVE-2024-20359",  # Cisco ASA: local/persistence
    "CVE-2023-20269",  # Cisco ASA: remote access VPN brute force (IKE/SSL)
    "CVE-2023-2868",  # Barracuda ESG: mail attachments
    "CVE-2023-34048",  # vCenter DCERPC
    "CVE-2024-37085",  # ESXi AD group
    "CVE-2022-41328",  # FortiOS CLI path traversal (authenticated, local)
    "CVE-2023-33009", "CVE-2023-33010",  # Zyxel IPSec/IKE buffer overflows
    "CVE-2023-28771",  # Zyxel IKE
    "CVE-2022-40139",  # Trend Micro Apex One rollback (agent)
    "CVE-2025-32433",  # Erlang/OTP SSH
    "CVE-2024-23113",  # FortiOS fgfmd (541)
    "CVE-2019-6693",  # FortiOS hard-coded configuration key
    "CVE-2016-6366", "CVE-2016-6367",  # Cisco ASA SNMP, CLI
    "CVE-2020-3153", "CVE-2020-3433",  # Cisco AnyConnect client, local
    "CVE-2022-24706",  # CouchDB Erlang distribution (4369)
    "CVE-2016-8735",  # Tomcat JMX listener
    "CVE-2020-14644", "CVE-2020-2883", "CVE-2023-21839", "CVE-2020-2551",  # WebLogic T3/IIOP
    "CVE-2018-2628",  # WebLogic T3
    "CVE-2024-38812", "CVE-2024-38813",  # vCenter DCERPC, local privilege escalation
    "CVE-2022-22960",  # VMware local privilege escalation
    "CVE-2022-26143",  # Mitel TP-240 UDP 10074
    "CVE-2024-40891",  # Zyxel CPE telnet
    "CVE-2025-21590",  # Junos local shell
    "CVE-2022-41352", "CVE-2024-45519",  # Zimbra: mail attachment, postjournal SMTP
    # Cross-site scripting delivered in e-mail, not in requests to the server.
    "CVE-2020-35730", "CVE-2023-5631", "CVE-2024-37383", "CVE-2024-42009",
    "CVE-2020-13965", "CVE-2023-43770",  # Roundcube
    "CVE-2018-6882", "CVE-2022-24682", "CVE-2024-27443",  # Zimbra
    "CVE-2024-11182",  # MDaemon
}

WEB_RE = [re.compile(p, re.I) for p in WEB]


def clean(s):
    """One field: no tabs, newlines or surrounding blanks."""
    return " ".join(str(s).split())


def web(entry):
    """Whether an entry is exploited over a server's HTTP(S) interface."""
    if entry["cveID"] in NOT_HTTP:
        return False
    key = clean(entry["vendorProject"]) + " | " + clean(entry["product"])
    return any(r.search(key) for r in WEB_RE)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: update_kev_ids.py CATALOG.json [OUT.tsv]")
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else "crates/vuln/data/kev_ids.tsv"
    try:
        with open(src, encoding="utf-8") as f:
            cat = json.load(f)
        vulns = cat["vulnerabilities"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{src}: not a KEV catalog: {e}")
    rows = []
    for i, v in enumerate(vulns):
        try:
            rows.append(
                (
                    clean(v["cveID"]).upper(),
                    clean(v["dateAdded"]),
                    "1" if web(v) else "0",
                    clean(v["vendorProject"]),
                    clean(v["product"]),
                )
            )
        except KeyError as e:
            print(f"{src}: vulnerabilities[{i}]: missing {e}, skipped", file=sys.stderr)
    rows.sort()
    with open(out, "w", encoding="utf-8") as f:
        f.write(
            "# CISA Known Exploited Vulnerabilities catalog, version "
            f"{clean(cat.get('catalogVersion', '?'))}, {len(rows)} entries.\n"
            "# Source: https://www.cisa.gov/known-exploited-vulnerabilities-catalog "
            "(CC0 1.0 Universal, public domain dedication).\n"
            "# Generated by scripts/update_kev_ids.py; do not edit by hand.\n"
            "# cve\tdate_added\tweb\tvendor\tproduct\n"
        )
        for r in rows:
            f.write("\t".join(r) + "\n")
    web_n = sum(r[2] == "1" for r in rows)
    print(f"{out}: {len(rows)} entries, {web_n} web-exposed", file=sys.stderr)


if __name__ == "__main__":
    main()
