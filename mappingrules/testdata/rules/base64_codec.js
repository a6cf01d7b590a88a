importClass(Packages.com.tivoli.am.fim.base64.BASE64Utility);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var name = stsuu.getPrincipalName();
var enc = BASE64Utility.encode(name.getBytes("UTF-8"), false);
var dec = new java.lang.String(BASE64Utility.decode(enc), "UTF-8");
var url = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(new java.lang.String("subject?>").getBytes());
var back = new java.lang.String(java.util.Base64.getUrlDecoder().decode(url));
stsuu.addContextAttribute(new Attribute("b64", "urn:test:b64", [enc, String(dec), url, String(back)]));
