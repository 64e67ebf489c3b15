/**
 * TCP service names tcpdump prints instead of port numbers when run without
 * `-n`/`-nn`. tcpdump takes them from the capturing host's services database
 * (getservent(3), i.e. /etc/services), printing the first name listed for a
 * port; the table below is Debian's netbase 6.4 /etc/services (TCP entries,
 * with aliases) plus names that Red Hat and macOS systems, which ship the
 * full IANA registry, print for ports common in development.
 */

/** "port name [alias...]" entries separated by semicolons. */
const NETBASE = `
1 tcpmux; 7 echo; 9 discard sink null; 11 systat users; 13 daytime; 15 netstat
17 qotd quote; 19 chargen ttytst source; 20 ftp-data; 21 ftp; 22 ssh; 23 telnet
25 smtp mail; 37 time timserver; 43 whois nicname; 49 tacacs; 53 domain; 70 gopher
79 finger; 80 http www; 88 kerberos kerberos5 krb5 kerberos-sec; 102 iso-tsap tsap
104 acr-nema dicom; 106 poppassd; 110 pop3 pop-3; 111 sunrpc portmapper
113 auth authentication tap ident; 119 nntp readnews untp; 135 epmap loc-srv
139 netbios-ssn; 143 imap2 imap; 161 snmp; 162 snmp-trap snmptrap; 163 cmip-man
164 cmip-agent; 174 mailq; 179 bgp; 199 smux; 209 qmtp; 210 z3950 wais; 345 pawserv
346 zserv; 369 rpc2portmap; 370 codaauth2; 389 ldap; 427 svrloc; 443 https; 444 snpp
445 microsoft-ds; 464 kpasswd; 465 submissions ssmtp smtps urd; 487 saft; 512 exec
513 login; 514 shell cmd syslog; 515 printer spooler; 538 gdomap; 540 uucp uucpd; 543 klogin
544 kshell krcmd; 548 afpovertcp; 554 rtsp; 563 nntps snntp; 587 submission; 607 nqs
628 qmqp; 631 ipp; 636 ldaps; 646 ldp; 655 tinc; 706 silc; 749 kerberos-adm
750 kerberos4 kerberos-iv kdc; 751 kerberos-master; 754 krb-prop krb_prop krb5_prop hprop
775 moira-db moira_db; 777 moira-update moira_update; 783 spamd; 853 domain-s
871 supfilesrv; 873 rsync; 989 ftps-data; 990 ftps; 992 telnets; 993 imaps; 995 pop3s
1080 socks; 1093 proofd; 1094 rootd; 1099 rmiregistry; 1127 supfiledbg; 1178 skkserv
1194 openvpn; 1236 rmtcfg; 1313 xtel; 1314 xtelw; 1352 lotusnote lotusnotes; 1433 ms-sql-s
1524 ingreslock; 1645 datametrics old-radius; 1646 sa-msg-port old-radacct; 1649 kermit
1677 groupwise; 1812 radius; 1813 radius-acct radacct; 2000 cisco-sccp; 2049 nfs
2086 gnunet; 2101 rtcm-sc104; 2119 gsigatekeeper; 2121 iprop; 2135 gris; 2401 cvspserver
2430 venus; 2431 venus-se; 2432 codasrv; 2433 codasrv-se; 2583 mon; 2600 zebrasrv
2601 zebra; 2602 ripd; 2603 ripngd; 2604 ospfd; 2605 bgpd; 2606 ospf6d; 2607 ospfapi
2608 isisd; 2628 dict; 2792 f5-globalsite; 2811 gsiftp; 2947 gpsd; 3050 gds-db gds_db
3205 isns; 3260 iscsi-target; 3306 mysql; 3389 ms-wbt-server; 3493 nut; 3632 distcc
3689 daap; 3690 svn subversion; 4031 suucp; 4094 sysrqd; 4190 sieve; 4353 f5-iquery
4369 epmd; 4373 remctl; 4460 ntske; 4557 fax; 4559 hylafax; 4691 mtn; 4899 radmin-port
4949 munin lrrd; 5060 sip; 5061 sip-tls; 5222 xmpp-client jabber-client
5269 xmpp-server jabber-server; 5308 cfengine; 5432 postgresql postgres; 5556 freeciv rptp
5666 nrpe; 5667 nsca; 5671 amqps; 5672 amqp; 5680 canna; 6000 x11 x11-0; 6001 x11-1
6002 x11-2; 6003 x11-3; 6004 x11-4; 6005 x11-5; 6006 x11-6; 6007 x11-7; 6346 gnutella-svc
6347 gnutella-rtr; 6379 redis; 6444 sge-qmaster sge_qmaster; 6445 sge-execd sge_execd
6446 mysql-proxy; 6514 syslog-tls; 6566 sane-port sane saned; 6667 ircd; 6697 ircs-u
7000 bbs; 7100 font-service xfs; 8021 zope-ftp; 8080 http-alt webcache; 8081 tproxy
8088 omniorb; 8140 puppet; 8990 clc-build-daemon; 9098 xinetd; 9101 bacula-dir
9102 bacula-fd; 9103 bacula-sd; 9418 git; 9667 xmms2; 9673 zope; 10000 webmin
10050 zabbix-agent; 10051 zabbix-trapper; 10080 amanda; 10081 kamanda; 10082 amandaidx
10083 amidxtape; 10809 nbd; 11112 dicom; 11371 hkp; 17004 sgi-cad; 17500 db-lsp; 22125 dcap
22128 gsidcap; 22273 wnn6; 24554 binkp; 27374 asp; 30865 csync2; 57000 dircproxy
60177 tfido; 60179 fido
`;

/** IANA registry names for common ports that Debian does not list. */
const IANA_EXTRA = `
80 www-http; 3000 hbci remoteware-cl; 5000 commplex-main; 5001 commplex-link; 8000 irdmi
8443 pcsync-https; 8888 ddi-tcp-1; 9000 cslistener; 9090 websm; 9200 wap-wsp
6443 sun-sr-https; 11211 memcache; 2379 etcd-client; 2380 etcd-server; 9092 XmlIpcRegSvc
5601 esmagent; 1521 ncube-lm; 5900 rfb; 8081 sunproxyadmin; 1883 mqtt; 8883 secure-mqtt
2181 eforward; 5984 couchdb; 3128 ndl-aas squid; 8086 d-s-n; 9100 jetdirect hp-pdl-datastr
5353 mdns; 9300 vrace; 3478 stun; 445 microsoft-ds; 1723 pptp; 2375 docker; 2376 docker-s
8001 vcom-tunnel; 8082 us-cli; 9001 etlservicemgr; 9418 git; 7000 afs3-fileserver; 7001 afs3-callback
`;

function buildTable(...sources: readonly string[]): ReadonlyMap<string, number> {
  const table = new Map<string, number>();
  for (const source of sources) {
    for (const entry of source.split(/[;\n]/)) {
      const [port, ...names] = entry.trim().split(' ');
      if (port === undefined || port === '') continue;
      // A name listed for two ports (rare) keeps its first, most common one.
      for (const name of names) if (!table.has(name)) table.set(name, Number(port));
    }
  }
  return table;
}

const SERVICES = buildTable(NETBASE, IANA_EXTRA);

/** The TCP port a service name stands for, or undefined when the name is unknown. */
export function servicePort(name: string): number | undefined {
  return SERVICES.get(name);
}

/** How many names the table knows (for tests). */
export const SERVICE_NAME_COUNT = SERVICES.size;
