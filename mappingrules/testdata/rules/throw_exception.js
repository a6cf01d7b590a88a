importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);

var scope = stsuu.getAttributeValuesByName("scope");
if (scope.indexOf("admin") < 0) {
	IDMappingExtUtils.throwSTSException("scope admin is required");
}
