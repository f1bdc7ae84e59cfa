package gen

import (
	"strconv"
	"strings"
)

// pickSkewed returns an index in [0, n) that favours small indexes: the
// first tenth of users or apps produces about a third of the records.
func (e *emitter) pickSkewed(n int) int {
	x := e.r.Float64()
	return int(x * x * float64(n))
}

func (e *emitter) chance(pct int) bool { return e.r.IntN(100) < pct }

// signInFailure is a failed sign-in's status.
type signInFailure struct {
	code           int64
	reason, detail string
}

var interactiveFailures = []signInFailure{
	{50126, "Error validating credentials due to invalid username or password.", "The user didn't enter the right credentials.  It's expected to see some number of these errors in your logs due to users making mistakes."},
	{50126, "Error validating credentials due to invalid username or password.", "The user didn't enter the right credentials.  It's expected to see some number of these errors in your logs due to users making mistakes."},
	{50074, "Strong Authentication is required.", "The user is being prompted for MFA."},
	{50140, "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.", "This is an expected part of the login flow, where a user is asked if they want to remain signed into this browser to make further logins easier. For more details, see https://techcommunity.microsoft.com/t5/Azure-Active-Directory-Identity/The-new-Azure-AD-sign-in-and-Keep-me-signed-in-experiences/td-p/128267"},
	{53003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.", "If this is unexpected, see the conditional access policy that applied to this request in the Azure Portal or contact your administrator. For more information, go to https://docs.microsoft.com/azure/active-directory/conditional-access/troubleshoot-conditional-access"},
	{500121, "Authentication failed during strong authentication request.", "The user didn't complete the MFA prompt. They may have decided not to authenticate, timed out while doing other work, or has an issue with their authentication setup."},
	{50055, "The password is expired.", "The user's password is expired, and therefore their login or session was ended. They will be offered the opportunity to reset it, or may ask an admin to reset it via https://docs.microsoft.com/azure/active-directory/fundamentals/active-directory-users-reset-password-azure-portal"},
}

var nonInteractiveFailures = []signInFailure{
	{70044, "The session has expired or is invalid due to sign-in frequency checks by conditional access.", "The user's session has expired due to a Conditional Access sign-in frequency policy. The user will be prompted to sign in again."},
	{700082, "The refresh token has expired due to inactivity. The token was issued on {issueDate} and was inactive for {time}.", "The user's refresh token expired after a period of inactivity. The user will be prompted to sign in again."},
	{50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.", "The user's password was changed, so the refresh tokens issued before the change are no longer valid."},
	{50097, "Device authentication is required.", "The app requires the device to authenticate. Ensure the device is registered and the request carries the device's credential."},
}

// signInCtx is what a user sign-in record refers to more than once.
type signInCtx struct {
	t, created  int64
	ui          int
	u           *user
	a           *app
	res         *resource
	ip          *ipAddr
	pl          *place
	dev         *device
	office      bool
	fail        *signInFailure
	mfa         bool
	risk        string
	interactive bool
}

func (e *emitter) userSignInCtx(t int64, interactive bool) signInCtx {
	p := e.p
	c := signInCtx{t: t, interactive: interactive}
	c.ui = e.pickSkewed(len(p.users))
	c.u = &p.users[c.ui]
	if e.chance(60) {
		c.a = &p.clientApps[e.r.IntN(8)]
	} else {
		c.a = &p.clientApps[e.r.IntN(len(p.clientApps))]
	}
	c.res = &p.resources[c.a.resources[e.r.IntN(len(c.a.resources))]]
	switch {
	case c.u.office >= 0 && e.chance(60):
		c.ip, c.office = &p.officeIPs[c.u.office], true
	case e.chance(4): // travelling
		c.ip = &p.homeIPs[e.r.IntN(len(p.homeIPs))]
	default:
		c.ip = &p.homeIPs[c.u.home]
	}
	c.pl = &p.places[c.ip.place]
	if e.chance(25) {
		c.dev = &devices[c.u.phone]
	} else {
		c.dev = &devices[c.u.desktop]
	}
	c.created = t - int64(5+e.r.IntN(170))*ticksPerSecond - e.r.Int64N(ticksPerSecond)
	if interactive {
		if e.chance(9) {
			c.fail = &interactiveFailures[e.r.IntN(len(interactiveFailures))]
		}
		c.mfa = c.fail == nil && e.chance(25)
	} else if e.chance(3) {
		c.fail = &nonInteractiveFailures[e.r.IntN(len(nonInteractiveFailures))]
	}
	switch x := e.r.IntN(1000); {
	case x < 4:
		c.risk = "high"
	case x < 15:
		c.risk = "medium"
	case x < 40:
		c.risk = "low"
	default:
		c.risk = "none"
	}
	return c
}

// signIn writes an interactive user sign-in (SignInLogs).
func (e *emitter) signIn(t int64) { e.userSignIn(e.userSignInCtx(t, true)) }

// nonInteractive writes a NonInteractiveUserSignInLogs record.
func (e *emitter) nonInteractive(t int64) { e.userSignIn(e.userSignInCtx(t, false)) }

func (e *emitter) envelope(c *signInCtx, resultType, resultSig, resultDesc string) {
	e.b = append(e.b, '{')
	e.topTime("time", c.t, tZ7)
	e.topStr("resourceId", e.p.tenantRes)
	e.topStr("operationName", "Sign-in activity")
	e.topStr("operationVersion", "1.0")
	e.topStr("category", e.cat)
	e.topStr("tenantId", e.p.tenant)
	e.topStr("resultType", resultType)
	e.topStr("resultSignature", resultSig)
	if resultDesc != "" {
		e.topStr("resultDescription", resultDesc)
	}
	e.top("durationMs")
	e.b = append(e.b, '0')
}

func (e *emitter) userSignIn(c signInCtx) {
	p, u := e.p, c.u
	e.newIDs()
	resultType, sig, desc := "0", "SUCCESS", ""
	var code int64
	if c.fail != nil {
		code = c.fail.code
		resultType, sig, desc = strconv.FormatInt(code, 10), "FAILURE", c.fail.reason
	}
	e.envelope(&c, resultType, sig, desc)
	e.topStr("callerIpAddress", c.ip.addr)
	e.top("correlationId")
	e.b = append(e.b, '"')
	e.b = append(e.b, e.corr[:]...)
	e.b = append(e.b, '"')
	e.topStr("identity", u.display)
	e.top("Level")
	e.b = append(e.b, '4')
	e.topStr("location", c.pl.country)
	e.top("properties")
	e.b = append(e.b, '{')

	e.strB("id", e.id[:])
	e.time("createdDateTime", c.created, tOffset7)
	e.str("userDisplayName", u.display)
	e.str("userPrincipalName", u.upn)
	e.str("userId", u.id)
	e.str("appId", c.a.id)
	e.str("appDisplayName", c.a.name)
	e.str("ipAddress", c.ip.addr)
	e.obj("status")
	e.num("errorCode", code)
	if c.fail != nil {
		e.str("failureReason", c.fail.reason)
		e.str("additionalDetails", c.fail.detail)
	}
	e.end('}')
	client := c.a.client
	if c.interactive && client == mobile && !c.dev.mobile {
		client = browser
	}
	e.str("clientAppUsed", client)
	if c.interactive || e.chance(80) {
		e.str("userAgent", c.dev.ua)
	}
	e.obj("deviceDetail")
	if u.deviceID != "" && !c.dev.mobile {
		e.str("deviceId", u.deviceID)
		e.str("displayName", u.deviceName)
		e.str("operatingSystem", c.dev.os)
		e.str("browser", c.dev.browser)
		e.boolean("isCompliant", true)
		e.boolean("isManaged", true)
		e.str("trustType", "Azure AD joined")
	} else {
		e.str("deviceId", "")
		e.str("operatingSystem", c.dev.os)
		if client == browser {
			e.str("browser", c.dev.browser)
		} else {
			e.str("browser", c.dev.rich)
		}
	}
	e.end('}')
	e.location(c.pl)
	if c.mfa {
		e.obj("mfaDetail")
		e.str("authMethod", u.mfa)
		if u.mfa == "Text message" {
			e.str("authDetail", "+X XXXXXXXX"+strconv.Itoa(10+c.ui%90))
		} else {
			e.str("authDetail", "")
		}
		e.end('}')
	}
	e.strB("correlationId", e.corr[:])
	caStatus := "success"
	if c.fail != nil && c.fail.code == 53003 {
		caStatus = "failure"
	} else if !c.mfa && !(u.deviceID != "" && !c.dev.mobile) {
		caStatus = "notApplied"
	}
	e.str("conditionalAccessStatus", caStatus)
	e.policies(&c, caStatus)
	e.raw("authenticationContextClassReferences", "[]")
	e.strB("originalRequestId", e.id[:])
	e.boolean("isInteractive", c.interactive)
	e.str("tokenIssuerName", "")
	e.str("tokenIssuerType", "AzureAD")
	e.processingDetails(&c)
	if c.office {
		e.raw("networkLocationDetails", `[{"networkType":"trustedNamedLocation","networkNames":["Corporate offices"]}]`)
	} else {
		e.raw("networkLocationDetails", "[]")
	}
	e.str("clientCredentialType", "none")
	e.num("processingTimeInMilliseconds", int64(30+e.r.IntN(220)))
	riskState, riskDetail := "none", "none"
	if c.risk != "none" {
		riskState = "atRisk"
	}
	e.str("riskDetail", riskDetail)
	e.str("riskLevelAggregated", c.risk)
	e.str("riskLevelDuringSignIn", c.risk)
	e.str("riskState", riskState)
	if c.risk != "none" {
		ev := []string{`["unfamiliarFeatures"]`, `["anonymizedIPAddress"]`, `["unlikelyTravel"]`, `["unfamiliarFeatures","anomalousToken"]`}[e.r.IntN(4)]
		e.raw("riskEventTypes", ev)
		e.raw("riskEventTypes_v2", ev)
	} else {
		e.raw("riskEventTypes", "[]")
		e.raw("riskEventTypes_v2", "[]")
	}
	e.str("resourceDisplayName", c.res.name)
	e.str("resourceId", c.res.id)
	e.str("resourceTenantId", p.tenant)
	e.str("homeTenantId", u.homeTenant)
	e.str("tenantId", p.tenant)
	e.authDetails(&c)
	if c.mfa {
		e.raw("authenticationRequirementPolicies", `[{"requirementProvider":"multiConditionalAccess","detail":"Conditional Access"}]`)
		e.raw("sessionLifetimePolicies", `[{"expirationRequirement":"rememberMultifactorAuthenticationOnTrustedDevices","detail":"Remember MFA"}]`)
		e.str("authenticationRequirement", "multiFactorAuthentication")
	} else {
		e.raw("authenticationRequirementPolicies", "[]")
		e.raw("sessionLifetimePolicies", "[]")
		e.str("authenticationRequirement", "singleFactorAuthentication")
	}
	e.str("servicePrincipalId", "")
	if u.guest {
		e.str("userType", "Guest")
	} else {
		e.str("userType", "Member")
	}
	e.boolean("flaggedForReview", false)
	e.boolean("isTenantRestricted", false)
	e.num("autonomousSystemNumber", int64(c.ip.asn))
	if u.guest {
		e.str("crossTenantAccessType", "b2bCollaboration")
	} else {
		e.str("crossTenantAccessType", "none")
	}
	e.raw("privateLinkDetails", "{}")
	e.str("ssoExtensionVersion", "")
	e.token("uniqueTokenIdentifier")
	e.raw("authenticationStrengths", "[]")
	if c.interactive {
		e.str("incomingTokenType", "none")
	} else if u.deviceID != "" && !c.dev.mobile {
		e.str("incomingTokenType", "primaryRefreshToken")
	} else {
		e.str("incomingTokenType", "refreshToken")
	}
	e.str("authenticationProtocol", "none")
	e.null("appServicePrincipalId")
	e.str("resourceServicePrincipalId", c.res.spID)
	e.num("rngcStatus", 0)
	bound := u.deviceID != "" && !c.dev.mobile
	if bound {
		e.str("signInTokenProtectionStatus", "bound")
		e.raw("tokenProtectionStatusDetails", `{"signInSessionStatus":"bound","signInSessionStatusCode":0}`)
	} else {
		e.str("signInTokenProtectionStatus", "none")
		e.raw("tokenProtectionStatusDetails", `{"signInSessionStatus":"unbound","signInSessionStatusCode":1002}`)
	}
	e.str("originalTransferMethod", "none")
	e.boolean("isThroughGlobalSecureAccess", false)
	e.arr("conditionalAccessAudiences")
	e.elem()
	e.str("applicationId", c.res.id)
	e.str("audienceReasons", "none")
	e.end('}')
	e.end(']')
	// A session lasts about eight hours per user and device.
	e.hashGUID("sessionId", uint64(c.ui)<<8|uint64(c.u.desktop), uint64(c.t/(8*3600*ticksPerSecond)))
	e.str("appOwnerTenantId", c.a.owner)
	e.str("resourceOwnerTenantId", e.p.msTenant)
	e.b = append(e.b, '}', '}')
}

func (e *emitter) location(pl *place) {
	e.obj("location")
	e.str("city", pl.city)
	e.str("state", pl.state)
	e.str("countryOrRegion", pl.country)
	e.obj("geoCoordinates")
	e.raw("latitude", pl.lat)
	e.raw("longitude", pl.lon)
	e.end('}')
	e.end('}')
}

var emptyLocation = place{lat: "0.0", lon: "0.0"}

// policies writes appliedConditionalAccessPolicies: Entra lists every
// enabled policy of the tenant with what it did to this sign-in. Many
// non-interactive records carry an empty list.
func (e *emitter) policies(c *signInCtx, status string) {
	e.arr("appliedConditionalAccessPolicies")
	if !c.interactive && e.chance(55) {
		e.end(']')
		return
	}
	for i := range e.p.policies[:2] {
		pol := &e.p.policies[i]
		e.elem()
		e.str("id", pol.id)
		e.str("displayName", pol.name)
		result, grant, session, sat, notSat := "notApplied", "[]", "[]", int64(0), int64(0)
		switch i {
		case 0: // MFA for admins
			if c.mfa {
				result, grant, sat = "success", pol.grant, 3
			} else {
				notSat = 1
			}
		case 1: // report-only risky sign-ins
			if c.risk == "medium" || c.risk == "high" {
				result, grant, session, sat = "reportOnlySuccess", pol.grant, pol.session, 5
			} else {
				result, grant, session, sat, notSat = "reportOnlyNotApplied", pol.grant, pol.session, 1, 2
			}
		}
		if status == "failure" && i == 0 {
			result, grant, sat, notSat = "failure", `["Block"]`, 3, 0
		}
		e.raw("enforcedGrantControls", grant)
		e.raw("enforcedSessionControls", session)
		e.str("result", result)
		e.num("conditionsSatisfied", sat)
		e.num("conditionsNotSatisfied", notSat)
		e.end('}')
	}
	e.end(']')
}

func (e *emitter) processingDetails(c *signInCtx) {
	e.arr("authenticationProcessingDetails")
	if !c.interactive {
		e.elem()
		e.str("key", "Azure AD App Authentication Library")
		if c.a.client == mobile {
			e.str("value", c.dev.library)
		} else {
			e.str("value", "")
		}
		e.end('}')
	}
	e.elem()
	e.str("key", "Legacy TLS (TLS 1.0, 1.1, 3DES)")
	e.str("value", "False")
	e.end('}')
	if e.chance(30) || !c.interactive && e.chance(60) {
		e.elem()
		e.str("key", "Oauth Scope Info")
		e.str("value", c.a.scopes)
		e.end('}')
	}
	e.elem()
	e.str("key", "Is CAE Token")
	if e.chance(30) {
		e.str("value", "True")
	} else {
		e.str("value", "False")
	}
	e.end('}')
	e.end(']')
}

func (e *emitter) authDetails(c *signInCtx) {
	e.arr("authenticationDetails")
	if !c.interactive {
		e.end(']')
		return
	}
	step := func(at int64, method, detail string, ok bool, result, req string, seq int64) {
		e.elem()
		e.time("authenticationStepDateTime", at, tOffset7)
		e.str("authenticationMethod", method)
		if detail != "" {
			e.str("authenticationMethodDetail", detail)
		}
		e.boolean("succeeded", ok)
		e.str("authenticationStepResultDetail", result)
		e.str("authenticationStepRequirement", req)
		e.num("StatusSequence", seq)
		e.num("RequestSequence", seq)
		e.end('}')
	}
	switch {
	case c.fail != nil && c.fail.code == 50126:
		step(c.created, "Password", "Password in the cloud", false, "Invalid username or password or Invalid on-premise username or password.", "Primary authentication", 0)
	case c.mfa:
		step(c.created, "Password", "Password in the cloud", true, "Correct password", "Primary authentication", 0)
		step(c.created+int64(3+e.r.IntN(25))*ticksPerSecond, c.u.mfa, "", true, "MFA successfully completed", "Primary authentication", int64(1+e.r.IntN(1<<20)))
	case e.chance(55):
		step(c.created, "Previously satisfied", "", true, "First factor requirement satisfied by claim in the token", "Primary authentication", 0)
	default:
		step(c.created, "Password", "Password in the cloud", c.fail == nil, "Correct password", "Primary authentication", 0)
	}
	e.end(']')
}

// appSignIn writes a service principal, managed identity or Microsoft
// service principal sign-in.
func (e *emitter) appSignIn(t int64, sp *servicePrincipal, managed, microsoft bool) {
	p := e.p
	e.newIDs()
	c := signInCtx{t: t, created: t - int64(10+e.r.IntN(160))*ticksPerSecond - e.r.Int64N(ticksPerSecond)}
	resultType, sig, desc := "0", "SUCCESS", ""
	var fail *signInFailure
	if e.chance(2) {
		fail = &signInFailure{7000215, "Invalid client secret is provided.", "The client secret of the application is wrong or expired."}
		if managed {
			fail = &signInFailure{7000232, "MSI-based managed identity authentication is not supported for this request.", ""}
		}
		resultType, sig, desc = strconv.FormatInt(fail.code, 10), "FAILURE", fail.reason
	}
	e.envelope(&c, resultType, sig, desc)
	var ip *ipAddr
	pl := &emptyLocation
	if !managed {
		ip = &p.cloudIPs[sp.ip]
		if e.chance(15) {
			ip = &p.cloudIPs[e.r.IntN(len(p.cloudIPs))]
		}
		e.topStr("callerIpAddress", ip.addr)
	}
	e.top("correlationId")
	e.b = append(e.b, '"')
	e.b = append(e.b, e.corr[:]...)
	e.b = append(e.b, '"')
	e.top("Level")
	e.b = append(e.b, '4')
	if ip != nil && e.chance(80) {
		pl = &p.places[ip.place]
		e.topStr("location", pl.country)
	}
	e.top("properties")
	e.b = append(e.b, '{')
	e.strB("id", e.id[:])
	e.time("createdDateTime", c.created, tOffset7)
	e.null("userId")
	e.str("appId", sp.appID)
	if ip != nil {
		e.str("ipAddress", ip.addr)
	} else {
		e.str("ipAddress", "")
	}
	e.obj("status")
	if fail != nil {
		e.num("errorCode", fail.code)
		e.str("failureReason", fail.reason)
	} else {
		e.num("errorCode", 0)
	}
	e.end('}')
	e.location(pl)
	e.strB("correlationId", e.corr[:])
	if managed {
		e.str("conditionalAccessStatus", "notApplied")
		e.raw("appliedConditionalAccessPolicies", "[]")
	}
	e.boolean("isInteractive", false)
	e.str("tokenIssuerType", "AzureAD")
	switch {
	case managed:
		e.raw("authenticationProcessingDetails", "[]")
	case !microsoft:
		e.raw("authenticationProcessingDetails", `[{"key":"Azure AD App Authentication Library","value":"Family: MSAL Library: MSAL.NET 4.61.3.0 Platform: .NET"}]`)
	}
	cred := "none"
	if !managed && !microsoft {
		cred = sp.cred
	}
	e.str("clientCredentialType", cred)
	e.num("processingTimeInMilliseconds", int64(e.r.IntN(40)))
	e.str("riskDetail", "none")
	e.str("riskLevelAggregated", "low")
	e.str("riskLevelDuringSignIn", "low")
	e.str("riskState", "none")
	res := &p.resources[sp.resources[e.r.IntN(len(sp.resources))]]
	e.str("resourceDisplayName", res.name)
	e.str("resourceId", res.id)
	e.str("servicePrincipalName", sp.name)
	e.str("servicePrincipalId", sp.id)
	if cred != "none" {
		e.str("servicePrincipalCredentialKeyId", sp.keyID)
		if sp.thumb != "" {
			e.str("servicePrincipalCredentialThumbprint", sp.thumb)
		}
	}
	if managed {
		e.str("federatedCredentialId", "")
	}
	e.boolean("flaggedForReview", false)
	e.boolean("isTenantRestricted", false)
	e.str("crossTenantAccessType", "none")
	e.token("uniqueTokenIdentifier")
	e.str("incomingTokenType", "none")
	e.str("authenticationProtocol", "none")
	e.null("appServicePrincipalId")
	if microsoft {
		e.str("resourceServicePrincipalId", "")
	} else {
		e.str("resourceServicePrincipalId", res.spID)
	}
	e.str("signInTokenProtectionStatus", "none")
	e.str("originalTransferMethod", "none")
	e.boolean("isThroughGlobalSecureAccess", false)
	if managed {
		if e.chance(30) {
			e.raw("conditionalAccessAudiences", `[{"applicationId":"`+res.id+`","audienceReasons":"none"}]`)
		} else {
			e.raw("conditionalAccessAudiences", "[]")
		}
	}
	e.b = append(e.b, '}', '}')
}

func (e *emitter) servicePrincipal(t int64) {
	e.appSignIn(t, &e.p.sps[e.pickSkewed(len(e.p.sps))], false, false)
}

func (e *emitter) managedIdentity(t int64) {
	e.appSignIn(t, &e.p.mis[e.pickSkewed(len(e.p.mis))], true, false)
}

func (e *emitter) microsoftServicePrincipal(t int64) {
	e.appSignIn(t, &e.p.msSPs[e.r.IntN(len(e.p.msSPs))], false, true)
}

// graphURIs are request paths; {u} is a user id, {g} a group id.
var graphURIs = []struct {
	method, version, path string
	size                  int
}{
	{"GET", "v1.0", "/users/{u}", 1100},
	{"GET", "v1.0", "/users?$select=id,accountEnabled,displayName,userPrincipalName,mail&$top=999", 250000},
	{"GET", "v1.0", "/me", 900},
	{"GET", "v1.0", "/me/messages?$top=25&$select=subject,from,receivedDateTime", 42000},
	{"GET", "v1.0", "/me/drive/root/children", 18000},
	{"GET", "v1.0", "/groups/{g}/members?$top=100", 36000},
	{"GET", "v1.0", "/groups?%24top=800&%24select=id%2cdisplayName%2cmail", 120000},
	{"POST", "v1.0", "/$batch", 0},
	{"POST", "v1.0", "/directoryObjects/getByIds", 0},
	{"GET", "beta", "/auditLogs/signIns?$filter=createdDateTime%20ge%202025-04-11T00:00:00Z&$top=1000", 900000},
	{"GET", "v1.0", "/deviceManagement/managedDevices?$top=100", 64000},
	{"GET", "v1.0", "/sites/root", 2100},
	{"PATCH", "v1.0", "/users/{u}", 0},
	{"GET", "beta", "/identityProtection/riskyUsers", 5000},
	{"GET", "v1.0", "/servicePrincipals?$filter=appId%20eq%20'00000003-0000-0000-c000-000000000000'", 30000},
}

var graphScopes = []string{
	"User.Read openid profile email",
	"Mail.ReadWrite Mail.Send User.Read openid profile",
	"Files.ReadWrite.All Sites.Read.All User.Read",
	"Chat.ReadWrite ChannelMessage.Send Team.ReadBasic.All User.Read",
	"Directory.Read.All User.Read.All Group.Read.All",
}

func (e *emitter) graphActivity(t int64) {
	p := e.p
	e.newIDs()
	delegated := e.chance(45)
	var sp *servicePrincipal
	var ui int
	var ip *ipAddr
	if delegated {
		ui = e.pickSkewed(len(p.users))
		u := &p.users[ui]
		if u.office >= 0 && e.chance(60) {
			ip = &p.officeIPs[u.office]
		} else {
			ip = &p.homeIPs[u.home]
		}
	} else {
		sp = &p.sps[e.pickSkewed(len(p.sps))]
		ip = &p.cloudIPs[sp.ip]
	}
	uri := &graphURIs[e.r.IntN(len(graphURIs))]
	status := int64(200)
	switch x := e.r.IntN(100); {
	case x < 3:
		status = 403
	case x < 5:
		status = 404
	case x < 6:
		status = 429
	case uri.method == "PATCH":
		status = 204
	}
	dur := int64(20_000 + e.r.IntN(1_500_000))
	e.b = append(e.b, '{')
	e.topTime("time", t, tZ7)
	e.top("resourceId")
	e.b = append(e.b, "\"/TENANTS/"...)
	e.b = append(e.b, strings.ToUpper(p.tenant)...)
	e.b = append(e.b, "/PROVIDERS/MICROSOFT.AADIAM\""...)
	e.topStr("operationName", "Microsoft Graph Activity")
	e.topStr("operationVersion", uri.version)
	e.topStr("category", e.cat)
	e.top("resultSignature")
	e.b = append(e.b, '"')
	e.b = strconv.AppendInt(e.b, status, 10)
	e.b = append(e.b, '"')
	e.top("durationMs")
	e.b = append(e.b, '"')
	e.b = strconv.AppendInt(e.b, dur, 10)
	e.b = append(e.b, '"')
	e.topStr("callerIpAddress", ip.addr)
	e.top("correlationId")
	e.b = append(e.b, '"')
	e.b = append(e.b, e.corr[:]...)
	e.b = append(e.b, '"')
	e.topStr("level", "Informational")
	e.topStr("location", "East US 2")
	e.top("properties")
	e.b = append(e.b, '{')
	e.str("__UDI_RequiredFields_TenantId", p.tenant)
	e.strB("__UDI_RequiredFields_UniqueId", e.id[:])
	e.num("__UDI_RequiredFields_EventTime", t+dotnetEpoch)
	e.str("__UDI_RequiredFields_RegionScope", "NA")
	e.time("timeGenerated", t, tZ7)
	e.str("location", "East US 2")
	e.strB("requestId", e.id[:])
	e.strB("operationId", e.corr[:])
	e.guid("clientRequestId")
	e.str("apiVersion", uri.version)
	e.str("requestMethod", uri.method)
	e.num("responseStatusCode", status)
	e.str("tenantId", p.tenant)
	e.num("durationMs", dur)
	size := int64(0)
	if status == 200 && uri.size > 0 {
		size = int64(uri.size/2 + e.r.IntN(uri.size))
	}
	e.num("responseSizeBytes", size)
	e.token("signInActivityId")
	issued := t/ticksPerSecond*ticksPerSecond - int64(60+e.r.IntN(3000))*ticksPerSecond
	if delegated {
		u := &p.users[ui]
		a := &p.clientApps[e.r.IntN(len(p.clientApps))]
		e.str("roles", "")
		e.str("appId", a.id)
		e.str("UserPrincipalObjectID", u.id)
		e.str("scopes", graphScopes[e.r.IntN(len(graphScopes))])
		e.str("identityProvider", p.issuer)
		e.str("clientAuthMethod", "0")
		e.str("wids", "b79fbf4d-3ef9-4689-8143-76b194e85509")
		e.str("C_Idtyp", "user")
		e.str("C_Iat", strconv.FormatInt(issued/ticksPerSecond, 10))
		e.str("ipAddress", ip.addr)
		e.str("userAgent", devices[u.desktop].ua)
		e.requestURI(uri.version, uri.path)
		e.str("atContentP", "")
		e.str("atContentH", "")
		e.hashGUID("C_Sid", uint64(ui)<<8|uint64(u.desktop), uint64(t/(8*3600*ticksPerSecond)))
		e.str("C_DeviceId", u.deviceID)
		e.str("userId", u.id)
		e.null("servicePrincipalId")
	} else {
		e.str("roles", sp.roles)
		e.str("appId", sp.appID)
		e.str("UserPrincipalObjectID", sp.id)
		e.str("scopes", "")
		e.str("identityProvider", p.issuer)
		if sp.cred == "certificate" || sp.cred == "clientAssertion" {
			e.str("clientAuthMethod", "2")
		} else {
			e.str("clientAuthMethod", "1")
		}
		e.str("wids", "0997a1d0-0d1d-4acb-b408-d5ca73121e90")
		e.str("C_Idtyp", "app")
		e.str("C_Iat", strconv.FormatInt(issued/ticksPerSecond, 10))
		e.str("ipAddress", ip.addr)
		e.str("userAgent", []string{"", "Datadog", "Azure-WebSite/103.0.7.288", "python-requests/2.32.3", "Go-http-client/2.0", "msgraph-sdk-dotnet/5.56.0"}[e.r.IntN(6)])
		e.requestURI(uri.version, uri.path)
		e.str("atContentP", "")
		e.str("atContentH", "")
		e.str("C_Sid", "")
		e.str("C_DeviceId", "")
		e.str("servicePrincipalId", sp.id)
	}
	e.time("tokenIssuedAt", issued, tZ0)
	e.b = append(e.b, '}')
	e.topStr("tenantId", p.tenant)
	e.b = append(e.b, '}')
}

// requestURI writes a Graph request URI, with {u} and {g} replaced by a
// user's and a group's id.
func (e *emitter) requestURI(version, path string) {
	e.key("requestUri")
	e.b = append(e.b, "\"https://graph.microsoft.com/"...)
	e.b = append(e.b, version...)
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			e.b = append(e.b, path...)
			break
		}
		e.b = append(e.b, path[:i]...)
		switch path[i+1] {
		case 'u':
			e.b = append(e.b, e.p.users[e.r.IntN(len(e.p.users))].id...)
		case 'g':
			e.b = append(e.b, e.p.groups[e.r.IntN(len(e.p.groups))].id...)
		}
		path = path[i+3:]
	}
	e.b = append(e.b, '"')
}
