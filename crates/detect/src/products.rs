//! The product vocabulary shared by signatures and the inventory, with aliases.

use std::collections::HashMap;

/// The target name for attacks on any dynamic web application.
pub const GENERIC: &str = "generic";

/// Canonical product names and the aliases accepted for each (see `rules/README.md`).
pub static PRODUCTS: &[(&str, &[&str])] = &[
    ("generic", &[]),
    ("nginx", &[]),
    ("apache-httpd", &["apache", "apache2", "httpd"]),
    ("apache-tomcat", &["tomcat"]),
    ("apache-struts", &["struts", "struts2"]),
    ("apache-solr", &["solr"]),
    ("apache-ofbiz", &["ofbiz"]),
    ("php", &["php-fpm", "php-cgi"]),
    ("wordpress", &["wp"]),
    ("drupal", &[]),
    ("joomla", &[]),
    ("magento", &[]),
    ("laravel", &[]),
    ("symfony", &[]),
    ("thinkphp", &[]),
    ("phpunit", &[]),
    ("phpmyadmin", &["pma"]),
    ("adminer", &[]),
    ("nextcloud", &[]),
    ("owncloud", &[]),
    ("gitlab", &[]),
    ("jenkins", &[]),
    ("grafana", &[]),
    ("kibana", &[]),
    ("elasticsearch", &[]),
    ("spring", &["spring-boot", "spring-framework"]),
    ("log4j", &[]),
    ("oracle-weblogic", &["weblogic"]),
    ("atlassian-confluence", &["confluence"]),
    ("atlassian-jira", &["jira"]),
    ("microsoft-exchange", &["exchange"]),
    ("microsoft-iis", &["iis"]),
    ("fortinet-fortios", &["fortios", "fortigate"]),
    ("citrix-adc", &["citrix", "netscaler"]),
    ("pulse-secure", &["ivanti-connect-secure"]),
    ("cisco-asa", &[]),
    ("palo-alto-globalprotect", &["globalprotect", "pan-os"]),
    ("f5-bigip", &["bigip"]),
    ("vmware-vcenter", &["vcenter"]),
    ("zimbra", &[]),
    ("hadoop-yarn", &["yarn"]),
    ("docker-api", &["docker"]),
    ("kubernetes", &["k8s"]),
    ("nacos", &[]),
    ("apache-druid", &["druid"]),
    ("geoserver", &[]),
    ("sap-netweaver", &[]),
    ("moveit", &[]),
    ("cpanel", &["whm"]),
    ("plesk", &[]),
    ("webmin", &[]),
    ("vbulletin", &[]),
    ("jboss", &["wildfly"]),
    ("cisco-ios-xe", &[]),
    ("sonicwall", &[]),
    ("roundcube", &[]),
    ("oracle-ebs", &["ebs", "oracle-e-business-suite"]),
    ("couchdb", &["apache-couchdb"]),
    ("zabbix", &[]),
    ("crushftp", &[]),
    ("jetbrains-teamcity", &["teamcity"]),
    ("connectwise-screenconnect", &["screenconnect"]),
    ("checkpoint-gateway", &["checkpoint", "check-point"]),
    ("manageengine", &["servicedesk-plus", "adselfservice-plus"]),
    ("papercut", &["papercut-ng", "papercut-mf"]),
    ("yonyou", &["yonyou-nc", "ufida"]),
    ("weaver-ecology", &["weaver", "e-cology"]),
    ("seeyon", &["seeyon-oa"]),
    (
        "llm-server",
        &[
            "ollama",
            "open-webui",
            "vllm",
            "litellm",
            "localai",
            "lm-studio",
            "llama-cpp",
        ],
    ),
    ("langflow", &[]),
    ("minio", &[]),
    ("metabase", &[]),
    ("apache-activemq", &["activemq"]),
    ("apache-airflow", &["airflow"]),
    ("apache-spark", &["spark"]),
    ("apache-flink", &["flink"]),
    ("apache-apisix", &["apisix"]),
    ("atlassian-bitbucket", &["bitbucket"]),
    ("openfire", &[]),
    ("goanywhere", &["goanywhere-mft"]),
    ("cleo", &["cleo-harmony", "cleo-vltrader", "cleo-lexicom"]),
    ("simplehelp", &[]),
    ("commvault", &["commvault-command-center"]),
    ("wazuh", &[]),
    ("progress-ws-ftp", &["ws_ftp", "ws-ftp"]),
    ("progress-whatsup-gold", &["whatsup-gold"]),
    ("ivanti-epm", &["ivanti-endpoint-manager", "ivanti-csa"]),
    ("solarwinds", &["serv-u", "web-help-desk"]),
    ("sysaid", &[]),
    ("mitel-micollab", &["micollab", "mivoice"]),
    ("aspera-faspex", &["faspex"]),
    ("rejetto-hfs", &["hfs"]),
    ("kemp-loadmaster", &["loadmaster"]),
    ("servicenow", &[]),
    ("router", &[]),
    ("cgi", &["cgi-bin"]),
    ("git", &[]),
    ("openssh", &["ssh", "sshd", "openssh-server"]),
    ("mysql", &["mariadb"]),
    ("postgresql", &["postgres"]),
    ("redis", &[]),
];

/// Resolves product names and aliases to canonical names.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    names: HashMap<String, &'static str>,
    extra: HashMap<String, String>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        let mut names = HashMap::new();
        for (canon, aliases) in PRODUCTS {
            names.insert(canon.to_string(), *canon);
            for a in *aliases {
                names.insert(a.to_string(), *canon);
            }
        }
        Vocabulary {
            names,
            extra: HashMap::new(),
        }
    }
}

impl Vocabulary {
    /// Adds a user alias (`alias` → canonical `product`); fails if `product` is unknown.
    pub fn add_alias(&mut self, alias: &str, product: &str) -> Result<(), String> {
        let canon = self
            .canonical(product)
            .ok_or_else(|| format!("unknown product `{product}` for alias `{alias}`"))?
            .to_string();
        self.extra.insert(alias.to_ascii_lowercase(), canon);
        Ok(())
    }

    /// The canonical name of a product or alias, if known.
    pub fn canonical(&self, name: &str) -> Option<&str> {
        let lower = name.to_ascii_lowercase();
        if let Some(c) = self.names.get(&lower) {
            return Some(c);
        }
        self.extra.get(&lower).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve() {
        let mut v = Vocabulary::default();
        assert_eq!(v.canonical("Apache2"), Some("apache-httpd"));
        assert_eq!(v.canonical("wordpress"), Some("wordpress"));
        assert_eq!(v.canonical("nope"), None);
        v.add_alias("blog", "wp").unwrap();
        assert_eq!(v.canonical("blog"), Some("wordpress"));
        assert!(v.add_alias("x", "nope").is_err());
    }
}
