package gen

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// population is the simulated tenant: who signs in, with what, from where.
// It is built once from the seed and only read afterwards.
type population struct {
	tenant     string
	tenantRes  string // envelope resourceId
	issuer     string // token issuer URL
	domain     string
	msTenant   string // Microsoft's own tenant, owner of first-party apps
	users      []user
	admins     []int // indexes of users who administer the tenant
	places     []place
	officeIPs  []ipAddr
	homeIPs    []ipAddr
	cloudIPs   []ipAddr
	clientApps []app // apps users sign in to
	resources  []resource
	sps        []servicePrincipal
	mis        []servicePrincipal
	msSPs      []servicePrincipal // Microsoft's own service principals
	policies   []caPolicy
	groups     []group
	guestHomes []string // home tenants of guests
}

type user struct {
	id, display, upn string
	guest            bool
	homeTenant       string
	office           int // index in officeIPs, -1 for remote workers
	home             int // index in homeIPs
	desktop, phone   int // device profiles
	deviceID         string
	deviceName       string
	mfa              string // preferred second factor
}

type place struct {
	city, state, country, lat, lon string
}

type ipAddr struct {
	addr  string
	place int
	asn   int
}

type device struct {
	os, browser, ua string
	mobile          bool
	rich            string // browser shown for desktop/mobile apps (non-interactive)
	library         string // Azure AD App Authentication Library value
}

type app struct {
	id, name, owner string
	resources       []int
	client          string // clientAppUsed
	scopes          string // pre-escaped JSON array text for Oauth Scope Info
}

type resource struct {
	id, name, spID string
}

type servicePrincipal struct {
	id, appID, name string
	cred            string
	keyID           string
	thumb           string
	resources       []int
	ip              int // index in cloudIPs
	roles           string
}

type caPolicy struct {
	id, name string
	grant    string // raw JSON array
	session  string // raw JSON array
	reportOn bool   // report-only policy
	enabled  bool
}

type group struct {
	id, name string
}

var firstNames = strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward
Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley
Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel
Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine
Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia
Priya Wei Hiroshi Ana Mateo Sofia Lukas Ingrid Omar Fatima Arjun Mei Kwame Amara Dmitri Elena`)

var lastNames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett
Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell
Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons
Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson
Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner
Schmidt Müller Novak Kowalski Tanaka Sato Okafor Mensah Ivanova Rossi Dubois Larsen Andersson Kaur`)

// places: city, state, country, latitude, longitude.
var placeRows = [][5]string{
	{"Seattle", "Washington", "US", "47.6062", "-122.3321"},
	{"Redmond", "Washington", "US", "47.673988", "-122.121513"},
	{"Boardman", "Oregon", "US", "45.836", "-119.699"},
	{"San Francisco", "California", "US", "37.7749", "-122.4194"},
	{"San Jose", "California", "US", "37.3382", "-121.8863"},
	{"Los Angeles", "California", "US", "34.0522", "-118.2437"},
	{"Denver", "Colorado", "US", "39.7392", "-104.9903"},
	{"Dallas", "Texas", "US", "32.7767", "-96.797"},
	{"Austin", "Texas", "US", "30.2672", "-97.7431"},
	{"Chicago", "Illinois", "US", "41.8781", "-87.6298"},
	{"Atlanta", "Georgia", "US", "33.749", "-84.388"},
	{"Miami", "Florida", "US", "25.7617", "-80.1918"},
	{"Ashburn", "Virginia", "US", "39.0437", "-77.4742"},
	{"Boston", "Massachusetts", "US", "42.3601", "-71.0589"},
	{"New York", "New York", "US", "40.7128", "-74.006"},
	{"Brooklyn", "New York", "US", "40.6615", "-73.9951"},
	{"Westfield", "New Jersey", "US", "40.64396", "-74.3381"},
	{"Hasbrouck Heights", "New Jersey", "US", "40.85567", "-74.0841"},
	{"Philadelphia", "Pennsylvania", "US", "39.9526", "-75.1652"},
	{"Toronto", "Ontario", "CA", "43.6532", "-79.3832"},
	{"Montreal", "Quebec", "CA", "45.5017", "-73.5673"},
	{"Vancouver", "British Columbia", "CA", "49.2827", "-123.1207"},
	{"Mexico City", "Ciudad de Mexico", "MX", "19.4326", "-99.1332"},
	{"Sao Paulo", "Sao Paulo", "BR", "-23.5505", "-46.6333"},
	{"London", "England", "GB", "51.5072", "-0.1276"},
	{"Manchester", "England", "GB", "53.4808", "-2.2426"},
	{"Dublin", "Dublin", "IE", "53.3498", "-6.2603"},
	{"Paris", "Paris", "FR", "48.8566", "2.3522"},
	{"Mont-Saint-Aignan", "Seine-Maritime", "FR", "49.469", "1.0901"},
	{"Amsterdam", "Noord-Holland", "NL", "52.3676", "4.9041"},
	{"Frankfurt Am Main", "Hessen", "DE", "50.1109", "8.6821"},
	{"Berlin", "Berlin", "DE", "52.52", "13.405"},
	{"Munich", "Bayern", "DE", "48.1351", "11.582"},
	{"Zurich", "Zurich", "CH", "47.3769", "8.5417"},
	{"Madrid", "Madrid", "ES", "40.4168", "-3.7038"},
	{"Milan", "Lombardia", "IT", "45.4642", "9.19"},
	{"Stockholm", "Stockholms Lan", "SE", "59.3293", "18.0686"},
	{"Warsaw", "Mazowieckie", "PL", "52.2297", "21.0122"},
	{"Tel Aviv", "Tel Aviv", "IL", "32.0853", "34.7818"},
	{"Dubai", "Dubai", "AE", "25.2048", "55.2708"},
	{"Bengaluru", "Karnataka", "IN", "12.9716", "77.5946"},
	{"Mumbai", "Maharashtra", "IN", "19.076", "72.8777"},
	{"Singapore", "Central Singapore", "SG", "1.28795", "103.85178"},
	{"Tokyo", "Tokyo", "JP", "35.6762", "139.6503"},
	{"Osaka", "Osaka", "JP", "34.6937", "135.5023"},
	{"Seoul", "Seoul", "KR", "37.5665", "126.978"},
	{"Sydney", "New South Wales", "AU", "-33.8688", "151.2093"},
	{"Melbourne", "Victoria", "AU", "-37.8136", "144.9631"},
	{"Johannesburg", "Gauteng", "ZA", "-26.2041", "28.0473"},
	{"Lagos", "Lagos", "NG", "6.5244", "3.3792"},
}

// cloudPlaces are indexes of data-centre cities in placeRows.
var cloudPlaces = []int{1, 2, 12, 24, 26, 29, 30, 42}

var isps = []int{7922, 701, 6128, 20115, 22773, 7018, 15557, 12271, 3320, 5089, 3215, 1136, 6830, 2856, 4766, 2516, 9498, 4134, 6079, 6461}

var devices = []device{
	{os: "Windows10", browser: "Edge 135.0.0", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36 Edg/135.0.0.0", rich: "Rich Client 5.2.6.0", library: "Family: MSAL Library: MSAL.Desktop 4.66.1.0 Platform: Windows"},
	{os: "Windows10", browser: "Chrome 135.0.0", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36", rich: "Rich Client 5.2.6.0", library: "Family: MSAL Library: MSAL.Desktop 4.66.1.0 Platform: Windows"},
	{os: "Windows10", browser: "Edge 134.0.0", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0", rich: "Rich Client 5.2.4.0", library: "Family: MSAL Library: MSAL.Desktop 4.64.0.0 Platform: Windows"},
	{os: "MacOs", browser: "Chrome 135.0.0", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36", rich: "Rich Client 4.12.0.0", library: "Family: MSAL Library: MSAL.ObjC 1.7.43 Platform: macOS"},
	{os: "MacOs", browser: "Safari 18.3", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15", rich: "Rich Client 4.12.0.0", library: "Family: MSAL Library: MSAL.ObjC 1.7.43 Platform: macOS"},
	{os: "Linux", browser: "Firefox 137.0", ua: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:137.0) Gecko/20100101 Firefox/137.0", rich: "Python Requests 2.32", library: "Family: MSAL Library: MSAL.Python 1.31.0 Platform: Python"},
	{os: "Ios", browser: "Mobile Safari 18.3", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1", mobile: true, rich: "Rich Client 1.7.43", library: "Family: MSAL Library: MSAL.ObjC 1.7.43 Platform: iOS"},
	{os: "Ios", browser: "Mobile Safari 17.6", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", mobile: true, rich: "Rich Client 1.7.41", library: "Family: MSAL Library: MSAL.ObjC 1.7.41 Platform: iOS"},
	{os: "Android", browser: "Chrome Mobile 135.0.0", ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Mobile Safari/537.36", mobile: true, rich: "Rich Client 5.6.0", library: "Family: MSAL Library: MSAL.Android 5.6.0 Platform: MSAL.xplat.Android"},
	{os: "Android", browser: "Samsung Browser 27.0", ua: "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", mobile: true, rich: "Rich Client 5.4.0", library: "Family: MSAL Library: MSAL.Android 5.4.0 Platform: MSAL.xplat.Android"},
}

// desktops and phones index devices.
var (
	desktops = []int{0, 0, 0, 1, 1, 2, 3, 3, 4, 5}
	phones   = []int{6, 6, 7, 8, 8, 9}
)

// resourceRows: id, display name (well-known first-party resources).
var resourceRows = [][2]string{
	{"00000003-0000-0000-c000-000000000000", "Microsoft Graph"},
	{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
	{"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
	{"797f4846-ba00-4fd7-ba43-dac1f8f63013", "Azure Resource Manager"},
	{"00000002-0000-0000-c000-000000000000", "Windows Azure Active Directory"},
	{"cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services"},
	{"cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "Azure Key Vault"},
	{"e406a681-f3d4-42a8-90b6-c2b029497af1", "Azure Storage"},
	{"c5393580-f805-4401-95e8-94b7a6ef2fc2", "Office 365 Management APIs"},
	{"0000000a-0000-0000-c000-000000000000", "Microsoft Intune"},
	{"fc780465-2017-40d4-a0c5-307022471b92", "WindowsDefenderATP"},
	{"0a5f63c0-b750-4f38-a71c-4fc0d58b89e2", "Microsoft Mobile Application Management"},
	{"ca7f3f0b-7d91-482c-8e09-c5d840d0eac5", "Azure Log Analytics"},
	{"e933bd07-d2ee-4f1d-933c-3752b819567b", "Azure Monitor Restricted"},
	{"8cae6e77-e04e-42ce-b5cb-50d82bce26b1", "Microsoft Policy Insights Provider Data Plane"},
	{"022907d3-0f1b-48f7-badc-1ba6abab6d66", "Azure SQL Database"},
}

// appRows: id, name, client kind, resources (indexes), scopes.
type appRow struct {
	id, name, client string
	res              []int
	scopes           string
	firstParty       bool
}

const (
	browser = "Browser"
	mobile  = "Mobile Apps and Desktop clients"
)

var appRows = []appRow{
	{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal", browser, []int{3, 0, 4}, `[\"user_impersonation\"]`, true},
	{"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome", browser, []int{0, 2, 1}, `[\"User.Read\",\"Files.Read\"]`, true},
	{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", mobile, []int{5, 0, 2, 1}, `[\"Chat.ReadWrite\",\"Files.ReadWrite.All\",\"User.Read\"]`, true},
	{"5e3ce6c0-2b1f-4285-8d4b-75ee78787346", "Microsoft Teams Web Client", browser, []int{5, 0}, `[\"Chat.ReadWrite\",\"User.Read\"]`, true},
	{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office", mobile, []int{1, 2, 0}, `[\"Mail.ReadWrite\",\"Files.ReadWrite.All\",\"User.Read\"]`, true},
	{"27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile", mobile, []int{1, 0}, `[\"EAS.AccessAsUser.All\",\"EWS.AccessAsUser.All\"]`, true},
	{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", browser, []int{1}, `[\"Mail.Read\"]`, true},
	{"ab9b8c07-8f02-4f72-87fa-80105867a763", "OneDrive SyncEngine", mobile, []int{2, 0}, `[\"Files.ReadWrite.All\"]`, true},
	{"29d9ed98-a469-4536-ade2-f981bc1d605e", "Microsoft Authentication Broker", mobile, []int{0, 4, 9}, `[\"User.Read\"]`, true},
	{"38aa3b87-a06d-4817-b275-7a316988d93b", "Windows Sign In", mobile, []int{4, 0}, `[\"openid\",\"profile\"]`, true},
	{"04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Microsoft Azure CLI", mobile, []int{3, 0, 6}, `[\"user_impersonation\"]`, true},
	{"1950a258-227b-4e31-a9cf-717495945fc2", "Microsoft Azure PowerShell", mobile, []int{3, 0}, `[\"user_impersonation\"]`, true},
	{"2793995e-0a7d-40d7-bd35-6968ba142197", "My Apps", browser, []int{0}, `[\"User.Read\"]`, true},
	{"19db86c3-b2b9-44cc-b339-36da233a3be2", "My Signins", browser, []int{0}, `[\"UserAuthenticationMethod.ReadWrite\"]`, true},
	{"ecd6b820-32c2-49b6-98a6-444530e5a77a", "Microsoft Edge", mobile, []int{0, 2}, `[\"User.Read\",\"Sites.Read.All\"]`, true},
	{"aebc6443-996d-45c2-90f0-388ff96faa56", "Visual Studio Code", mobile, []int{3, 0}, `[\"user_impersonation\"]`, true},
	{"872cd9fa-d31f-45e0-9eab-6e460a02d1f1", "Visual Studio", mobile, []int{3, 0}, `[\"user_impersonation\"]`, true},
	{"0ec893e0-5785-4de6-99da-4ed124e5296c", "Office UWP PWA", browser, []int{2, 1}, `[\"Files.Read\"]`, true},
	{"fc0f3af4-6835-4174-b806-f7db311fd2f3", "Microsoft Intune Windows Agent", mobile, []int{9, 0}, `[\"DeviceManagementConfiguration.Read.All\"]`, true},
	{"9ba1a5c7-f17a-4de9-a1f1-6178c8d51223", "Microsoft Intune Company Portal", mobile, []int{9, 0, 11}, `[\"DeviceManagementApps.Read.All\",\"User.Read\"]`, true},
	{"", "Contoso HR Portal", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Contoso Expenses", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Salesforce", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "ServiceNow", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Workday", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Slack", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Zoom", mobile, []int{0}, `[\"User.Read\",\"Calendars.Read\"]`, false},
	{"", "GitHub Enterprise Cloud", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Atlassian Cloud", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "AWS IAM Identity Center", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Datadog", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Tableau Cloud", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "DocuSign", browser, []int{0}, `[\"User.Read\"]`, false},
	{"", "Adobe Creative Cloud", mobile, []int{0}, `[\"User.Read\"]`, false},
	{"", "Contoso Mobile", mobile, []int{0, 15}, `[\"User.Read\",\"offline_access\"]`, false},
}

var spNames = strings.Fields(`backup-agent ci-deploy terraform-prod terraform-dev grafana-reader siem-connector
datadog-integration okta-sync scim-provisioner billing-export sentinel-ingest log-shipper jira-sync
github-actions-prod github-actions-dev aks-prod-kubelet vault-auth power-automate-flow mail-relay
crm-sync data-factory-etl synapse-loader cost-reporter defender-connector intune-automation
hr-feed wiki-bot teams-bot license-reporter pagerduty-connector`)

var miNames = strings.Fields(`aks-prod-agentpool aks-dev-agentpool func-orders-prod func-orders-dev logic-invoices
vm-build-01 vm-build-02 webapp-portal-prod webapp-portal-stg adf-pipelines azurepolicy-westus2
omsagent-prod resources-task-f444ca0ac478 keyvault-rotator appgw-ingress containerapp-api
sql-auditing aci-runner automation-account monitor-dcr`)

var msSPNames = []string{"Microsoft Service Principal", "Office 365 Exchange Online", "Microsoft Intune", "Microsoft Graph Change Tracking", "Azure Resource Graph"}

var groupNames = strings.Fields(`All-Employees Engineering Sales Marketing Finance HR Legal Support IT-Admins
VPN-Users Contractors Executives Product Design Security-Team Data-Platform DevOps Interns London-Office
Seattle-Office Tokyo-Office Berlin-Office License-E5 License-E3 MFA-Exempt Break-Glass`)

var caRows = []struct {
	name, grant, session string
	report               bool
}{
	{"Require MFA for admins", `["Mfa"]`, `[]`, false},
	{"Microsoft-managed: Multifactor authentication and reauthentication for risky sign-ins", `["Mfa"]`, `["SignInFrequency"]`, true},
	{"Block legacy authentication", `["Block"]`, `[]`, false},
	{"Require compliant or hybrid joined device", `["RequireCompliantDevice","RequireDomainJoinedDevice"]`, `[]`, false},
	{"Require MFA for all users outside trusted locations", `["Mfa"]`, `[]`, false},
}

func newPopulation(seed uint64, nUsers int) *population {
	r := rand.New(rand.NewPCG(seed, 0x5eed0f9e0e1a71))
	p := &population{}
	p.tenant = guid(r)
	p.tenantRes = "/tenants/" + p.tenant + "/providers/Microsoft.aadiam"
	p.issuer = "https://sts.windows.net/" + p.tenant + "/"
	p.msTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	p.domain = "contoso.example"
	for range 12 {
		p.guestHomes = append(p.guestHomes, guid(r))
	}
	for _, row := range placeRows {
		p.places = append(p.places, place{city: row[0], state: row[1], country: row[2], lat: coord(row[3]), lon: coord(row[4])})
	}
	// Offices: a few egress addresses shared by many users.
	officePlaces := []int{0, 14, 24, 30, 43, 40, 9, 19}
	for i := range 16 {
		pl := officePlaces[i%len(officePlaces)]
		p.officeIPs = append(p.officeIPs, ipAddr{addr: ipv4(r, 0), place: pl, asn: isps[r.IntN(len(isps))]})
	}
	for i := range 450 {
		pl := r.IntN(len(p.places))
		a := ipAddr{place: pl, asn: isps[r.IntN(len(isps))]}
		if i%10 == 9 {
			a.addr = ipv6(r)
		} else {
			a.addr = ipv4(r, 0)
		}
		p.homeIPs = append(p.homeIPs, a)
	}
	for range 80 {
		a := ipAddr{place: cloudPlaces[r.IntN(len(cloudPlaces))], asn: []int{8075, 16509, 14618, 15169}[r.IntN(4)]}
		a.addr = ipv4(r, []int{4, 13, 20, 40, 52, 104}[r.IntN(6)])
		p.cloudIPs = append(p.cloudIPs, a)
	}
	for _, row := range resourceRows {
		p.resources = append(p.resources, resource{id: row[0], name: row[1], spID: guid(r)})
	}
	for _, row := range appRows {
		a := app{id: row.id, name: row.name, client: row.client, resources: row.res, scopes: row.scopes, owner: p.msTenant}
		if !row.firstParty {
			a.id, a.owner = guid(r), p.tenant
		}
		p.clientApps = append(p.clientApps, a)
	}
	creds := []string{"clientSecret", "clientSecret", "certificate", "federatedIdentityCredential", "clientAssertion"}
	graphRoles := []string{"User.Read.All", "Application.Read.All", "Group.Read.All GroupMember.Read.All",
		"RoleManagement.Read.Directory AuditLog.Read.All", "Directory.Read.All", "Mail.Send", "Sites.ReadWrite.All",
		"ChannelMember.Read.All GroupMember.Read.All OnlineMeetings.Read.All TeamsAppInstallation.ReadForChat.All TeamsAppInstallation.ReadForTeam.All TeamsAppInstallation.ReadForUser.All TeamworkTag.Read.All User.Read.All",
		"DeviceManagementManagedDevices.Read.All", "SecurityEvents.Read.All IdentityRiskyUser.Read.All"}
	for _, n := range spNames {
		sp := servicePrincipal{id: guid(r), appID: guid(r), name: n, cred: creds[r.IntN(len(creds))], keyID: guid(r),
			ip: r.IntN(len(p.cloudIPs)), roles: graphRoles[r.IntN(len(graphRoles))]}
		if sp.cred == "certificate" {
			sp.thumb = upperHex(r, 20)
		}
		sp.resources = []int{0, []int{3, 6, 7, 8, 12}[r.IntN(5)]}
		p.sps = append(p.sps, sp)
	}
	for _, n := range miNames {
		p.mis = append(p.mis, servicePrincipal{id: guid(r), appID: guid(r), name: n,
			resources: []int{[]int{3, 6, 7, 12, 13, 14, 15}[r.IntN(7)], 6}})
	}
	for _, n := range msSPNames {
		p.msSPs = append(p.msSPs, servicePrincipal{id: guid(r), appID: []string{"00000003-0000-0000-c000-000000000000", "00000002-0000-0000-c000-000000000000"}[r.IntN(2)],
			name: n, ip: r.IntN(len(p.cloudIPs)), resources: []int{0, 8}})
	}
	for _, c := range caRows {
		p.policies = append(p.policies, caPolicy{id: guid(r), name: c.name, grant: c.grant, session: c.session, reportOn: c.report, enabled: true})
	}
	for _, n := range groupNames {
		p.groups = append(p.groups, group{id: guid(r), name: n})
	}
	seen := make(map[string]int, nUsers)
	mfa := []string{"Mobile app notification", "Mobile app notification", "Mobile app notification", "OATH verification code", "Text message", "FIDO2 security key", "Windows Hello for Business"}
	for i := range nUsers {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		local := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
		if n := seen[local]; n > 0 {
			seen[local] = n + 1
			local += strconv.Itoa(n + 1)
		} else {
			seen[local] = 1
		}
		u := user{id: guid(r), display: first + " " + last, upn: local + "@" + p.domain, homeTenant: p.tenant,
			office: -1, home: r.IntN(len(p.homeIPs)), desktop: desktops[r.IntN(len(desktops))], phone: phones[r.IntN(len(phones))],
			mfa: mfa[r.IntN(len(mfa))]}
		if r.IntN(10) < 7 {
			u.office = r.IntN(len(p.officeIPs))
		}
		if i%40 == 39 { // guests from partner tenants
			u.guest = true
			u.homeTenant = p.guestHomes[r.IntN(len(p.guestHomes))]
			u.upn = local + "_partner.example#EXT#@" + p.domain
		}
		if devices[u.desktop].os == "Windows10" && r.IntN(4) > 0 {
			u.deviceID = guid(r)
			u.deviceName = "CONTOSO-" + upperHex(r, 3)
		}
		p.users = append(p.users, u)
		if i%100 == 7 {
			p.admins = append(p.admins, i)
		}
	}
	if len(p.admins) == 0 && len(p.users) > 0 {
		p.admins = []int{0}
	}
	return p
}

// coord renders a coordinate the way Entra does: a float32 printed with
// float64 digits.
func coord(s string) string {
	f, _ := strconv.ParseFloat(s, 32)
	return strconv.FormatFloat(float64(float32(f)), 'f', -1, 64)
}

func asciiFold(s string) string {
	return strings.NewReplacer("ü", "ue", "é", "e").Replace(s)
}

// publicFirstOctets are first octets of public IPv4 ranges (no private,
// loopback, multicast or reserved ones).
var publicFirstOctets = []int{24, 38, 45, 47, 50, 64, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 78, 79, 80, 81,
	82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 108, 109, 142, 151, 173, 174, 176,
	178, 185, 188, 195, 203, 212, 213, 217}

func ipv4(r *rand.Rand, first int) string {
	if first == 0 {
		first = publicFirstOctets[r.IntN(len(publicFirstOctets))]
	}
	b := strconv.AppendInt(nil, int64(first), 10)
	for range 3 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(r.IntN(254)+1), 10)
	}
	return string(b)
}

func ipv6(r *rand.Rand) string {
	b := []byte("2600:")
	for i := range 7 {
		if i > 0 {
			b = append(b, ':')
		}
		b = strconv.AppendInt(b, int64(r.IntN(0x10000)), 16)
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

func guid(r *rand.Rand) string {
	return string(appendGUID(nil, r))
}

func upperHex(r *rand.Rand, n int) string {
	b := make([]byte, 0, 2*n)
	for range n {
		c := byte(r.UintN(256))
		b = append(b, "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
	}
	return string(b)
}

// appendGUID appends a random version-4 GUID in lower-case hex.
func appendGUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12
	lo = lo&^(0x3<<62) | 0x2<<62
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}
