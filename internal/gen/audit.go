package gen

import (
	"strconv"
)

// Who starts an audited activity.
const (
	byApp   = iota // a first-party service
	bySelf         // the target user
	byAdmin        // an administrator
)

// auditOp is one kind of directory activity.
type auditOp struct {
	name, category, service, opType string
	by                              int
	app                             string // initiating app for byApp
	target                          int    // what targetResources holds
	desc                            string // resultDescription / resultReason ("" for none)
	weight                          int
}

// Target kinds.
const (
	tgUser = iota
	tgUserStsRefresh
	tgGroupMember
	tgGroup
	tgDevice
	tgServicePrincipal
	tgApplication
	tgPolicy
	tgRole
	tgAuthMethod
	tgPassword
)

var auditOps = []auditOp{
	{"Update user", "UserManagement", "Core Directory", "Update", byApp, "Azure Credential Configuration Endpoint Service", tgUser, "", 22},
	{"Update StsRefreshTokenValidFrom Timestamp", "UserManagement", "Core Directory", "Update", byApp, "Microsoft Substrate Management", tgUserStsRefresh, "", 10},
	{"Add member to group", "GroupManagement", "Core Directory", "Add", byAdmin, "", tgGroupMember, "", 10},
	{"Remove member from group", "GroupManagement", "Core Directory", "Remove", byAdmin, "", tgGroupMember, "", 4},
	{"Update group", "GroupManagement", "Core Directory", "Update", byAdmin, "", tgGroup, "", 3},
	{"Update device", "Device", "Core Directory", "Update", byApp, "Device Registration Service", tgDevice, "", 12},
	{"Add registered owner to device", "Device", "Core Directory", "Assign", byApp, "Device Registration Service", tgDevice, "", 2},
	{"User registered security info", "UserManagement", "Authentication Methods", "Add", bySelf, "", tgAuthMethod, "User registered Authenticator App with Notification and Code", 5},
	{"User started security info registration", "UserManagement", "Authentication Methods", "Add", bySelf, "", tgAuthMethod, "User started the registration for Authenticator App with Notification and Code", 4},
	{"Reset password (self-service)", "UserManagement", "Self-service Password Management", "Update", bySelf, "", tgPassword, "Successfully completed reset.", 3},
	{"Change user password", "UserManagement", "Core Directory", "Update", byApp, "Microsoft password reset service", tgPassword, "", 3},
	{"Add app role assignment to service principal", "ApplicationManagement", "Core Directory", "Assign", byAdmin, "", tgServicePrincipal, "", 3},
	{"Update application – Certificates and secrets management ", "ApplicationManagement", "Core Directory", "Update", byAdmin, "", tgApplication, "", 2},
	{"Consent to application", "ApplicationManagement", "Core Directory", "Assign", bySelf, "", tgServicePrincipal, "", 2},
	{"Update conditional access policy", "Policy", "Conditional Access", "Update", byAdmin, "", tgPolicy, "", 1},
	{"Add member to role", "RoleManagement", "Core Directory", "Add", byAdmin, "", tgRole, "", 1},
	{"Add user", "UserManagement", "Core Directory", "Add", byAdmin, "", tgUser, "", 2},
	{"Delete user", "UserManagement", "Core Directory", "Delete", byAdmin, "", tgUser, "", 1},
}

var auditWeightSum = func() int {
	n := 0
	for _, op := range auditOps {
		n += op.weight
	}
	return n
}()

// auditAppIDs are service principal ids of the first-party initiators.
var auditServiceIPs = []string{"40.118.35.80", "20.190.151.7", "52.109.12.19", "40.126.32.134"}

var roleRows = [][2]string{
	{"Global Administrator", "62e90394-69f5-4237-9190-012177145e10"},
	{"User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"},
	{"Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"},
	{"Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"},
	{"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
}

func (e *emitter) pickAuditOp() *auditOp {
	x := e.r.IntN(auditWeightSum)
	for i := range auditOps {
		if x < auditOps[i].weight {
			return &auditOps[i]
		}
		x -= auditOps[i].weight
	}
	return &auditOps[0]
}

// audit writes an AuditLogs record.
func (e *emitter) audit(t int64) {
	p := e.p
	op := e.pickAuditOp()
	e.newIDs()
	ti := e.pickSkewed(len(p.users))
	target := &p.users[ti]
	var initiator *user
	var ip string
	identity := op.app
	switch op.by {
	case bySelf:
		initiator = target
		ip = p.homeIPs[target.home].addr
		identity = target.display
	case byAdmin:
		initiator = &p.users[p.admins[e.r.IntN(len(p.admins))]]
		if initiator.office >= 0 {
			ip = p.officeIPs[initiator.office].addr
		} else {
			ip = p.homeIPs[initiator.home].addr
		}
		identity = initiator.display
	default:
		ip = auditServiceIPs[e.r.IntN(len(auditServiceIPs))]
	}
	result, reason := "success", op.desc
	if e.chance(3) {
		result = "failure"
		reason = "Microsoft.Online.Workflows.ObjectAlreadyExistsException"
	}
	e.b = append(e.b, '{')
	e.topTime("time", t, tZ7)
	e.topStr("resourceId", p.tenantRes)
	e.topStr("operationName", op.name)
	e.topStr("operationVersion", "1.0")
	e.topStr("category", e.cat)
	e.topStr("tenantId", p.tenant)
	e.topStr("resultSignature", "None")
	if reason != "" {
		e.topStr("resultDescription", reason)
	}
	e.top("durationMs")
	e.b = append(e.b, '0')
	e.topStr("callerIpAddress", ip)
	e.top("correlationId")
	e.b = append(e.b, '"')
	e.b = append(e.b, e.corr[:]...)
	e.b = append(e.b, '"')
	e.topStr("identity", identity)
	e.top("Level")
	e.b = append(e.b, '4')
	e.top("properties")
	e.b = append(e.b, '{')
	e.str("tenantId", p.tenant)
	e.str("resultType", "")
	if reason == "" {
		e.str("resultDescription", "")
	} else {
		e.str("resultDescription", reason)
	}
	e.str("operationName", op.name)
	e.str("identity", identity)
	e.str("tenantGeo", "NA")
	// id: <service>_<correlation id>_<5 characters>_<8 digits>
	e.key("id")
	e.b = append(e.b, '"')
	if op.service == "Core Directory" {
		e.b = append(e.b, "Directory"...)
	} else {
		e.b = append(e.b, op.service...)
	}
	e.b = append(e.b, '_')
	e.b = append(e.b, e.corr[:]...)
	e.b = append(e.b, '_')
	for range 5 {
		e.b = append(e.b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[e.r.IntN(36)])
	}
	e.b = append(e.b, '_')
	e.b = strconv.AppendInt(e.b, int64(10_000_000+e.r.IntN(90_000_000)), 10)
	e.b = append(e.b, '"')
	e.str("category", op.category)
	e.strB("correlationId", e.corr[:])
	e.str("result", result)
	e.str("resultReason", reason)
	e.str("activityDisplayName", op.name)
	e.time("activityDateTime", t, tOffset7)
	e.str("loggedByService", op.service)
	e.str("operationType", op.opType)
	if op.by == byApp {
		e.null("userAgent")
	} else {
		e.str("userAgent", devices[initiator.desktop].ua)
	}
	e.obj("initiatedBy")
	if initiator == nil {
		e.obj("app")
		e.null("appId")
		e.str("displayName", op.app)
		e.hashGUID("servicePrincipalId", fnv64(op.app), 0x5e41ce)
		e.null("servicePrincipalName")
		e.end('}')
	} else {
		e.obj("user")
		e.str("id", initiator.id)
		e.str("displayName", initiator.display)
		e.str("userPrincipalName", initiator.upn)
		e.str("ipAddress", ip)
		e.raw("roles", "[]")
		e.end('}')
	}
	e.end('}')
	e.arr("targetResources")
	e.targets(op, ti, t)
	e.end(']')
	e.arr("additionalDetails")
	switch op.target {
	case tgUser, tgUserStsRefresh, tgPassword:
		e.elem()
		e.str("key", "UserType")
		e.str("value", "Member")
		e.end('}')
	case tgAuthMethod:
		e.elem()
		e.str("key", "InitiatedFrom")
		e.str("value", "Microsoft App Access Panel (0000000c-0000-0000-c000-000000000000)")
		e.end('}')
	case tgDevice:
		e.elem()
		e.str("key", "DeviceId")
		e.guid("value")
		e.end('}')
		e.elem()
		e.str("key", "DeviceOSType")
		e.str("value", "Windows")
		e.end('}')
		e.elem()
		e.str("key", "DeviceTrustType")
		e.str("value", "AzureAd")
		e.end('}')
	}
	if op.by != byApp {
		e.elem()
		e.str("key", "User-Agent")
		e.str("value", devices[initiator.desktop].ua)
		e.end('}')
	}
	e.end(']')
	e.b = append(e.b, '}', '}')
}

// userTarget opens a User target (the caller adds modifiedProperties and
// closes it with closeTarget).
func (e *emitter) userTarget(u *user, named bool) {
	e.elem()
	e.str("id", u.id)
	if named {
		e.str("displayName", u.display)
	} else {
		e.null("displayName")
	}
	e.str("type", "User")
	e.str("userPrincipalName", u.upn)
	e.arr("modifiedProperties")
}

func (e *emitter) closeTarget() {
	e.end(']')
	e.raw("administrativeUnits", "[]")
	e.end('}')
}

// prop writes a modifiedProperties element; old and new are pre-escaped
// JSON string contents, "" for null.
func (e *emitter) prop(name, old, new string) {
	e.elem()
	e.str("displayName", name)
	e.strOrNull("oldValue", old)
	e.strOrNull("newValue", new)
	e.end('}')
}

func (e *emitter) targets(op *auditOp, ti int, t int64) {
	p := e.p
	u := &p.users[ti]
	switch op.target {
	case tgUser:
		e.userTarget(u, op.opType != "Update")
		switch e.r.IntN(3) {
		case 0:
			e.prop("AssignedLicense", `[\"[SkuName=ENTERPRISEPACK, AccountId=`+p.tenant+`, SkuId=6fd2c87f-b296-42f0-b197-1e91e994b900, DisabledPlans=[]]\"]`,
				`[\"[SkuName=SPE_E5, AccountId=`+p.tenant+`, SkuId=06ebc4ee-1bb5-47dd-8120-11324bc54e06, DisabledPlans=[]]\"]`)
			e.prop("Included Updated Properties", "", `\"AssignedLicense\"`)
		case 1:
			e.prop("LastDirSyncTime", `[\"`+string(appendTime(nil, t-3600*ticksPerSecond, tZ0))+`\"]`, `[\"`+string(appendTime(nil, t, tZ0))+`\"]`)
			e.prop("Included Updated Properties", "", `\"LastDirSyncTime\"`)
		default:
			e.prop("Included Updated Properties", "", `\"\"`)
		}
		e.prop("TargetId.UserType", "", `\"Member\"`)
		e.closeTarget()
	case tgUserStsRefresh:
		e.userTarget(u, false)
		e.prop("StsRefreshTokensValidFrom", `[\"`+string(appendTime(nil, t-86400*30*ticksPerSecond, tZ0))+`\"]`, `[\"`+string(appendTime(nil, t, tZ0))+`\"]`)
		e.prop("Included Updated Properties", "", `\"StsRefreshTokensValidFrom\"`)
		e.prop("TargetId.UserType", "", `\"Member\"`)
		e.closeTarget()
	case tgGroupMember:
		g := &p.groups[e.r.IntN(len(p.groups))]
		e.userTarget(u, false)
		if op.opType == "Add" {
			e.prop("Group.ObjectID", "", `\"`+g.id+`\"`)
			e.prop("Group.DisplayName", "", `\"`+g.name+`\"`)
		} else {
			e.prop("Group.ObjectID", `\"`+g.id+`\"`, "")
			e.prop("Group.DisplayName", `\"`+g.name+`\"`, "")
		}
		e.closeTarget()
		e.groupTarget(g)
		e.end(']')
		e.raw("administrativeUnits", "[]")
		e.end('}')
	case tgGroup:
		g := &p.groups[e.r.IntN(len(p.groups))]
		e.groupTarget(g)
		e.prop("Description", `[\"`+g.name+` members\"]`, `[\"`+g.name+` members and guests\"]`)
		e.prop("Included Updated Properties", "", `\"Description\"`)
		e.end(']')
		e.raw("administrativeUnits", "[]")
		e.end('}')
	case tgDevice:
		e.elem()
		if u.deviceID != "" {
			e.str("id", u.deviceID)
			e.str("displayName", u.deviceName)
		} else { // a personal device registered by the user
			e.hashGUID("id", uint64(ti), 0xde71ce)
			e.str("displayName", devices[u.desktop].os+"-"+strconv.Itoa(ti))
		}
		e.str("type", "Device")
		e.arr("modifiedProperties")
		e.prop("ApproximateLastLogonTimestamp", `[\"`+string(appendTime(nil, t-7*86400*ticksPerSecond, tZ0))+`\"]`, `[\"`+string(appendTime(nil, t, tZ0))+`\"]`)
		e.prop("Included Updated Properties", "", `\"ApproximateLastLogonTimestamp\"`)
		e.closeTarget()
	case tgServicePrincipal:
		sp := &p.sps[e.r.IntN(len(p.sps))]
		e.elem()
		e.str("id", sp.id)
		e.str("displayName", sp.name)
		e.str("type", "ServicePrincipal")
		e.arr("modifiedProperties")
		e.prop("AppRole.Id", "", `\"`+p.resources[0].spID+`\"`)
		e.prop("AppRole.Value", "", `\"`+sp.roles+`\"`)
		e.prop("ServicePrincipal.DisplayName", "", `\"`+sp.name+`\"`)
		e.prop("ServicePrincipal.ObjectID", "", `\"`+sp.id+`\"`)
		e.closeTarget()
	case tgApplication:
		sp := &p.sps[e.r.IntN(len(p.sps))]
		e.elem()
		e.str("id", sp.appID)
		e.str("displayName", sp.name)
		e.str("type", "Application")
		e.arr("modifiedProperties")
		e.prop("KeyDescription", `[\"[KeyIdentifier=`+sp.keyID+`,KeyType=Password,KeyUsage=Verify,DisplayName=old]\"]`,
			`[\"[KeyIdentifier=`+sp.keyID+`,KeyType=Password,KeyUsage=Verify,DisplayName=rotated]\"]`)
		e.prop("Included Updated Properties", "", `\"KeyDescription\"`)
		e.closeTarget()
	case tgPolicy:
		pol := &p.policies[e.r.IntN(len(p.policies))]
		e.elem()
		e.str("id", pol.id)
		e.str("displayName", pol.name)
		e.str("type", "Policy")
		e.arr("modifiedProperties")
		e.prop("ConditionalAccessPolicy",
			`{\"id\":\"`+pol.id+`\",\"displayName\":\"`+pol.name+`\",\"state\":\"enabledForReportingButNotEnforced\",\"conditions\":{\"applications\":{\"includeApplications\":[\"All\"]},\"users\":{\"includeUsers\":[\"All\"],\"excludeGroups\":[\"`+p.groups[len(p.groups)-1].id+`\"]},\"clientAppTypes\":[\"all\"]},\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"mfa\"]}}`,
			`{\"id\":\"`+pol.id+`\",\"displayName\":\"`+pol.name+`\",\"state\":\"enabled\",\"conditions\":{\"applications\":{\"includeApplications\":[\"All\"]},\"users\":{\"includeUsers\":[\"All\"],\"excludeGroups\":[\"`+p.groups[len(p.groups)-1].id+`\"]},\"clientAppTypes\":[\"all\"]},\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"mfa\"]}}`)
		e.closeTarget()
	case tgRole:
		role := roleRows[e.r.IntN(len(roleRows))]
		e.userTarget(u, false)
		e.prop("Role.ObjectID", "", `\"`+role[1]+`\"`)
		e.prop("Role.DisplayName", "", `\"`+role[0]+`\"`)
		e.prop("Role.TemplateId", "", `\"`+role[1]+`\"`)
		e.prop("Role.WellKnownObjectName", "", `\"`+role[0]+`\"`)
		e.closeTarget()
	case tgAuthMethod:
		e.userTarget(u, true)
		if op.opType == "Add" && op.desc != "" && op.desc[5] == 'r' {
			e.prop("StrongAuthenticationMethod", "[]", `[{\"MethodType\":6,\"Default\":true},{\"MethodType\":7,\"Default\":false}]`)
		}
		e.closeTarget()
	case tgPassword:
		e.userTarget(u, true)
		e.closeTarget()
	}
}

func (e *emitter) groupTarget(g *group) {
	e.elem()
	e.str("id", g.id)
	e.str("displayName", g.name)
	e.str("type", "Group")
	e.str("groupType", "unifiedGroups")
	e.arr("modifiedProperties")
}

var riskEvents = []struct{ kind, mitre, timing, source string }{
	{"unfamiliarFeatures", "T1078", "realtime", "IdentityProtection"},
	{"anonymizedIPAddress", "T1090.003", "realtime", "IdentityProtection"},
	{"anomalousToken", "T1078,T1539", "offline", "IdentityProtection"},
	{"unlikelyTravel", "T1078", "offline", "IdentityProtection"},
	{"leakedCredentials", "T1589.001", "offline", "IdentityProtection"},
	{"passwordSpray", "T1110.003", "offline", "IdentityProtection"},
	{"maliciousIPAddress", "T1078", "offline", "IdentityProtection"},
	{"suspiciousAPITraffic", "T1087.004", "offline", "IdentityProtection"},
}

var riskLevels = []string{"low", "medium", "medium", "high"}

// riskEnvelope writes the start of a risk record, which Entra stamps with a
// US-style time and a text Level.
func (e *emitter) riskEnvelope(t int64, op string) {
	e.b = append(e.b, '{')
	e.topTime("time", t, tUS)
	e.top("resourceId")
	e.b = append(e.b, "\"/tenants/"...)
	e.b = append(e.b, e.p.tenant...)
	e.b = append(e.b, "/providers/microsoft.aadiam\""...)
	e.topStr("operationName", op)
	e.topStr("operationVersion", "1.0")
	e.topStr("category", e.cat)
	e.topStr("tenantId", e.p.tenant)
	e.topStr("resultSignature", "None")
	e.top("durationMs")
	e.b = append(e.b, '0')
}

// riskyUser writes a RiskyUsers record.
func (e *emitter) riskyUser(t int64) {
	ui := e.pickSkewed(len(e.p.users))
	u := &e.p.users[ui]
	e.riskEnvelope(t, "Risky user")
	e.topStr("correlationId", u.id)
	e.topStr("identity", lower(u.display))
	e.topStr("Level", "Information")
	e.topStr("location", []string{"wus", "eus", "neu", "weu"}[e.r.IntN(4)])
	e.top("properties")
	e.b = append(e.b, '{')
	e.str("id", u.id)
	e.str("userDisplayName", u.display)
	e.str("userPrincipalName", u.upn)
	e.time("riskLastUpdatedDateTime", t-e.r.Int64N(ticksPerSecond), tZ3)
	state, detail := "atRisk", "none"
	switch x := e.r.IntN(10); {
	case x == 0:
		state, detail = "remediated", "userPerformedSecuredPasswordChange"
	case x == 1:
		state, detail = "dismissed", "adminDismissedAllRiskForUser"
	}
	e.str("riskState", state)
	e.str("riskDetail", detail)
	if state == "atRisk" {
		e.str("riskLevel", riskLevels[e.r.IntN(len(riskLevels))])
	} else {
		e.str("riskLevel", "none")
	}
	e.boolean("isDeleted", false)
	e.boolean("isProcessing", false)
	e.b = append(e.b, '}', '}')
}

// userRiskEvent writes a UserRiskEvents record.
func (e *emitter) userRiskEvent(t int64) {
	p := e.p
	ui := e.pickSkewed(len(p.users))
	u := &p.users[ui]
	ev := &riskEvents[e.r.IntN(len(riskEvents))]
	ip := &p.homeIPs[e.r.IntN(len(p.homeIPs))]
	pl := &p.places[ip.place]
	e.newIDs()
	e.riskEnvelope(t, "User Risk Detection")
	// Risk detection ids are 64 hex digits.
	e.top("correlationId")
	e.b = append(e.b, '"')
	idStart := len(e.b)
	for range 4 {
		x := e.r.Uint64()
		for i := 60; i >= 0; i -= 4 {
			e.b = append(e.b, hexDigits[x>>uint(i)&15])
		}
	}
	id := string(e.b[idStart:])
	e.b = append(e.b, '"')
	e.topStr("identity", lower(u.display))
	e.topStr("Level", "Information")
	e.topStr("location", []string{"wus", "eus", "neu", "weu"}[e.r.IntN(4)])
	e.top("properties")
	e.b = append(e.b, '{')
	e.str("id", id)
	e.strB("requestId", e.id[:])
	e.strB("correlationId", e.corr[:])
	e.str("riskType", ev.kind)
	e.str("riskEventType", ev.kind)
	e.str("riskState", "atRisk")
	e.str("riskLevel", riskLevels[e.r.IntN(len(riskLevels))])
	e.str("riskDetail", "none")
	e.str("source", ev.source)
	e.str("detectionTimingType", ev.timing)
	e.str("activity", "signin")
	e.str("ipAddress", ip.addr)
	e.obj("location")
	e.str("city", pl.city)
	e.str("state", pl.state)
	e.str("countryOrRegion", pl.country)
	e.obj("geoCoordinates")
	e.raw("altitude", "0.0")
	e.raw("latitude", pl.lat)
	e.raw("longitude", pl.lon)
	e.end('}')
	e.end('}')
	activity := t - int64(60+e.r.IntN(8*3600))*ticksPerSecond
	e.time("activityDateTime", activity, tZ3Hour)
	e.time("detectedDateTime", t, tZ3)
	e.time("lastUpdatedDateTime", t, tZ3)
	e.str("userId", u.id)
	e.str("userDisplayName", u.display)
	e.str("userPrincipalName", u.upn)
	e.key("additionalInfo")
	e.b = append(e.b, `"[{\"Key\":\"riskReasons\",\"Value\":[\"NotSet\"]},{\"Key\":\"userAgent\",\"Value\":\"`...)
	e.b = append(e.b, devices[u.desktop].ua...)
	e.b = append(e.b, `\"},{\"Key\":\"alertUrl\",\"Value\":\"\"},{\"Key\":\"mitreTechniques\",\"Value\":\"`...)
	e.b = append(e.b, ev.mitre...)
	e.b = append(e.b, `\"}]"`...)
	e.str("tokenIssuerType", "AzureAD")
	e.null("resourceTenantId")
	e.str("homeTenantId", u.homeTenant)
	if u.guest {
		e.str("userType", "guest")
		e.str("crossTenantAccessType", "b2bCollaboration")
	} else {
		e.str("userType", "member")
		e.str("crossTenantAccessType", "none")
	}
	mitre := ev.mitre
	for i := 0; i < len(mitre); i++ {
		if mitre[i] == ',' {
			mitre = mitre[:i]
			break
		}
	}
	e.str("mitreTechniqueId", mitre)
	e.b = append(e.b, '}', '}')
}

// fnv64 is FNV-1a: stable ids derived from names.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
