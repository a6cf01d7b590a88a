// PRODUCT §12 reference rule: read ten attributes, write ten claims.
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
var claims = stsuu.getAttributeContainer();
var ctx = stsuu.getContextAttributes();
var sub = claims.getAttributeValueByNameAndType("sub", "urn:com:ibm:JWT:claim");
var email = claims.getAttributeValueByName("email");
var scope = claims.getAttributeValuesByName("scope");
var dept = claims.getAttributeValueByName("department");
var tenant = claims.getAttributeValueByName("tenant");
var grant = ctx.getAttributeValueByNameAndType("grant_type", "urn:ibm:names:ITFIM:oauth:body:param");
var client = ctx.getAttributeValueByName("client_id");
var level = claims.getAttributeValueByName("acr");
var locale = claims.getAttributeValueByName("locale");
var name = stsuu.getPrincipalName();
var t = "urn:ibm:jwt:claim";
stsuu.addAttribute(new Attribute("sub", t, sub));
stsuu.addAttribute(new Attribute("email", t, email.toLowerCase()));
stsuu.addAttribute(new Attribute("scope", t, scope.join(" ")));
stsuu.addAttribute(new Attribute("dept", t, dept));
stsuu.addAttribute(new Attribute("tenant", t, tenant));
stsuu.addAttribute(new Attribute("grant", t, grant));
stsuu.addAttribute(new Attribute("azp", t, client));
stsuu.addAttribute(new Attribute("acr", t, level == null ? "1" : level));
stsuu.addAttribute(new Attribute("locale", t, locale));
stsuu.addAttribute(new Attribute("preferred_username", t, name));
if (scope.indexOf("admin") >= 0) {
	stsuu.addAttribute(new Attribute("admin", t, true));
}
claims.removeAttributes("department", null);
ctx.removeAttributeByNameAndType("client_id", "urn:ibm:names:ITFIM:oauth:body:param");
