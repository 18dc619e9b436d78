// SPDX-License-Identifier: Apache-2.0
// sealroom consortium gate on an EVM chain. Semantics: docs/GATE.md.
// Compiled with the pinned solc (tests/node: solc 0.8.37) by
// scripts/build-contract.sh into contracts/ConsortiumApp.bin / .abi.
//
// Revert reasons start with a class word the C client maps to an error
// code: "denied: ..." (policy refusal), "state: ..." (already done / stale),
// "verify: ..." (bad signature), "invalid: ..." (bad argument).
pragma solidity ^0.8.20;

// dstack's app-auth interface (the KMS auth webhook asks the app contract).
interface IAppAuth {
    struct AppBootInfo {
        address appId;
        bytes32 composeHash;
        address instanceId;
        bytes32 deviceId;
        bytes32 mrAggregated;
        bytes32 mrSystem;
        bytes32 osImageHash;
        string tcbStatus;
        string[] advisoryIds;
    }

    function isAppAllowed(AppBootInfo calldata bootInfo) external view returns (bool isAllowed, string memory reason);
}

contract ConsortiumApp is IAppAuth {
    struct Owner {
        string id;
        address addr;
        string jurisdiction;
        string grades;
    }

    uint256 public constant MAX_OWNERS = 32;

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant APPROVE_TYPEHASH = keccak256("Approve(bytes32 composeHash)");
    bytes32 private constant REVOKE_TYPEHASH = keccak256("Revoke(bytes32 composeHash)");
    bytes32 private constant FREEZE_TYPEHASH = keccak256("Freeze(bytes32 reason)");
    bytes32 private constant REQUIRE_TYPEHASH = keccak256("RequireOwners(bytes32 composeHash,address[] owners)");
    bytes32 private constant OWNER_TYPEHASH =
        keccak256("Owner(string id,address addr,string jurisdiction,string grades)");
    bytes32 private constant CHANGE_TYPEHASH = keccak256(
        "ChangeOwners(Owner[] owners,uint256 threshold,uint256 nonce)Owner(string id,address addr,string jurisdiction,string grades)"
    );
    // secp256k1 n / 2: signatures with a larger s are refused (as in the C code).
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    string public name;
    Owner[] private owners;
    uint256 public threshold;
    bytes public kmsRoot;
    uint256 public configNonce;

    // compose hash => owner address => block number of the approval (0 = none)
    mapping(bytes32 => mapping(address => uint256)) public approvedAt;
    mapping(bytes32 => address) public revokedBy;
    mapping(bytes32 => string) public revokedById;
    mapping(bytes32 => uint256) public revokedAt;
    bool public frozen;
    address public frozenBy;
    string public frozenById;
    uint256 public frozenAt;
    bytes32 public frozenReason;
    // proposal struct hash (includes the nonce) => owner => voted
    mapping(bytes32 => mapping(address => bool)) public changeVoted;
    // compose hash => owners whose datasets the recipe reads (declared once,
    // before the first approval; empty = none declared)
    mapping(bytes32 => address[]) private required;

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event Approved(bytes32 indexed composeHash, address indexed owner);
    event Revoked(bytes32 indexed composeHash, address indexed owner);
    event Frozen(address indexed owner, bytes32 reason);
    event OwnerChangeVoted(bytes32 indexed proposal, address indexed owner, uint256 nonce);
    event OwnersChanged(uint256 nonce, uint256 threshold, uint256 nOwners);
    event OwnersRequired(bytes32 indexed composeHash, address[] owners);

    constructor(string memory name_, Owner[] memory owners_, uint256 threshold_, bytes memory kmsRoot_) {
        require(bytes(name_).length > 0 && bytes(name_).length <= 64, "invalid: name");
        require(kmsRoot_.length > 0 && kmsRoot_.length <= 97, "invalid: kms root key");
        name = name_;
        kmsRoot = kmsRoot_;
        _setOwners(owners_, threshold_);
    }

    // ---- EIP-712 ------------------------------------------------------------
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("sealroom"), keccak256("1"), block.chainid, address(this))
        );
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function _checkSig(bytes32 structHash, address signer, bytes calldata sig) internal view {
        require(sig.length == 65, "verify: signature must be 65 bytes");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        require(v == 27 || v == 28, "verify: bad recovery byte");
        require(uint256(s) <= HALF_N, "verify: high-s signature");
        address got = ecrecover(_digest(structHash), v, r, s);
        require(got != address(0) && got == signer, "verify: signature does not match the signer");
    }

    function ownerHash(Owner memory o) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                OWNER_TYPEHASH, keccak256(bytes(o.id)), o.addr, keccak256(bytes(o.jurisdiction)),
                keccak256(bytes(o.grades))
            )
        );
    }

    function changeOwnersHash(Owner[] memory owners_, uint256 threshold_, uint256 nonce)
        public
        pure
        returns (bytes32)
    {
        bytes32[] memory hs = new bytes32[](owners_.length);
        for (uint256 i = 0; i < owners_.length; i++) {
            hs[i] = ownerHash(owners_[i]);
        }
        return keccak256(abi.encode(CHANGE_TYPEHASH, keccak256(abi.encodePacked(hs)), threshold_, nonce));
    }

    // ---- owners ------------------------------------------------------------
    function _ownerIndex(address a) internal view returns (bool, uint256) {
        for (uint256 i = 0; i < owners.length; i++) {
            if (owners[i].addr == a) return (true, i);
        }
        return (false, 0);
    }

    function _requireOwner(address a) internal view returns (uint256) {
        (bool ok, uint256 i) = _ownerIndex(a);
        require(ok, "denied: signer is not an owner of this consortium");
        return i;
    }

    function _validateOwners(Owner[] memory owners_, uint256 threshold_) internal pure {
        uint256 n = owners_.length;
        require(n >= 1 && n <= MAX_OWNERS, "invalid: 1..32 owners");
        require(threshold_ >= 1 && threshold_ <= n, "invalid: threshold must be 1..n");
        for (uint256 i = 0; i < n; i++) {
            require(owners_[i].addr != address(0), "invalid: zero owner address");
            uint256 idl = bytes(owners_[i].id).length;
            require(idl >= 1 && idl <= 64, "invalid: owner id length");
            require(bytes(owners_[i].jurisdiction).length <= 32, "invalid: jurisdiction length");
            require(bytes(owners_[i].grades).length <= 128, "invalid: grades length");
            for (uint256 j = 0; j < i; j++) {
                require(owners_[j].addr != owners_[i].addr, "invalid: duplicate owner address");
                require(keccak256(bytes(owners_[j].id)) != keccak256(bytes(owners_[i].id)), "invalid: duplicate owner id");
            }
        }
    }

    function _setOwners(Owner[] memory owners_, uint256 threshold_) internal {
        _validateOwners(owners_, threshold_);
        uint256 n = owners_.length;
        delete owners;
        for (uint256 i = 0; i < n; i++) {
            owners.push(owners_[i]);
        }
        threshold = threshold_;
    }

    function getConfig()
        external
        view
        returns (string memory, Owner[] memory, uint256, bytes memory, uint256)
    {
        return (name, owners, threshold, kmsRoot, configNonce);
    }

    function ownerCount() external view returns (uint256) {
        return owners.length;
    }

    // ---- approvals -----------------------------------------------------------
    function approvals(bytes32 composeHash) public view returns (uint256 count) {
        for (uint256 i = 0; i < owners.length; i++) {
            if (approvedAt[composeHash][owners[i].addr] != 0) count++;
        }
    }

    function allowedComposeHashes(bytes32 composeHash) public view returns (bool ok) {
        (ok,) = _decide(composeHash);
    }

    // The decision without the app id check: frozen, revoked, k-of-n, then
    // every declared required owner must be a current owner who approved.
    // The owner addresses are read once; the required list is checked
    // against that copy in memory.
    function _decide(bytes32 composeHash) internal view returns (bool, string memory) {
        if (frozen) return (false, "app is frozen");
        if (revokedBy[composeHash] != address(0)) return (false, "compose hash revoked");
        uint256 n = owners.length;
        address[] memory addrs = new address[](n);
        uint256 approvedBits = 0; // bit i: owners[i] approved (n <= 32)
        uint256 count = 0;
        for (uint256 i = 0; i < n; i++) {
            address a = owners[i].addr;
            addrs[i] = a;
            if (approvedAt[composeHash][a] != 0) {
                approvedBits |= 1 << i;
                count++;
            }
        }
        if (count < threshold) return (false, "compose hash not approved");
        address[] storage req = required[composeHash];
        uint256 m = req.length;
        for (uint256 j = 0; j < m; j++) {
            address r = req[j];
            uint256 i = 0;
            while (i < n && addrs[i] != r) i++;
            if (i == n) return (false, string.concat("required owner ", _addrHex(r), " is not an owner"));
            if (approvedBits & (1 << i) == 0) return (false, string.concat("required owner ", owners[i].id, " has not approved"));
        }
        return (true, "");
    }

    function _addrHex(address a) internal pure returns (string memory) {
        bytes memory s = new bytes(42);
        s[0] = "0";
        s[1] = "x";
        uint160 v = uint160(a);
        for (uint256 i = 41; i >= 2; i--) {
            uint8 d = uint8(v & 15);
            s[i] = bytes1(d < 10 ? d + 48 : d + 87);
            v >>= 4;
        }
        return string(s);
    }

    // The owners declared for a compose hash (empty: none declared).
    function requiredOwners(bytes32 composeHash) external view returns (address[] memory) {
        return required[composeHash];
    }

    // Facts for one compose hash, read in one call (pinned to a block by the
    // caller): per current owner the approval block (0 = none), revocation and
    // freeze facts, and the declared required owners.
    function status(bytes32 composeHash)
        external
        view
        returns (
            uint256[] memory approvedBlocks,
            address revoker,
            string memory revokerId,
            uint256 revokedBlock,
            address freezer,
            string memory freezerId,
            uint256 frozenBlock,
            bytes32 reason,
            address[] memory requiredList
        )
    {
        approvedBlocks = new uint256[](owners.length);
        for (uint256 i = 0; i < owners.length; i++) {
            approvedBlocks[i] = approvedAt[composeHash][owners[i].addr];
        }
        return (
            approvedBlocks, revokedBy[composeHash], revokedById[composeHash], revokedAt[composeHash], frozenBy,
            frozenById, frozenAt, frozenReason, required[composeHash]
        );
    }

    function _approve(bytes32 composeHash, address who) internal {
        _requireOwner(who);
        require(!frozen, "denied: app is frozen");
        require(revokedBy[composeHash] == address(0), "denied: compose hash revoked");
        require(approvedAt[composeHash][who] == 0, "state: signer already approved this compose hash");
        bool before = approvals(composeHash) >= threshold;
        approvedAt[composeHash][who] = block.number;
        emit Approved(composeHash, who);
        if (!before && approvals(composeHash) >= threshold) emit ComposeHashAdded(composeHash);
    }

    function approve(bytes32 composeHash) external {
        _approve(composeHash, msg.sender);
    }

    function approveBySig(bytes32 composeHash, address signer, bytes calldata sig) external {
        _checkSig(keccak256(abi.encode(APPROVE_TYPEHASH, composeHash)), signer, sig);
        _approve(composeHash, signer);
    }

    // ---- required owners (declared once per compose hash) -----------------------
    function _requireOwners(bytes32 composeHash, address[] calldata list, address who) internal {
        _requireOwner(who);
        require(!frozen, "denied: app is frozen");
        require(revokedBy[composeHash] == address(0), "denied: compose hash revoked");
        require(required[composeHash].length == 0, "state: required owners already declared for this compose hash");
        require(approvals(composeHash) == 0, "state: compose hash already has approvals");
        uint256 m = list.length;
        require(m >= 1 && m <= MAX_OWNERS, "invalid: 1..32 required owners");
        uint256 n = owners.length;
        address[] memory addrs = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            addrs[i] = owners[i].addr;
        }
        address[] storage req = required[composeHash];
        for (uint256 j = 0; j < m; j++) {
            address r = list[j];
            uint256 i = 0;
            while (i < n && addrs[i] != r) i++;
            require(i < n, "invalid: required address is not a current owner");
            for (uint256 k = 0; k < j; k++) {
                require(list[k] != r, "invalid: duplicate required owner");
            }
            req.push(r);
        }
        emit OwnersRequired(composeHash, list);
    }

    function requireOwnersHash(bytes32 composeHash, address[] calldata list) public pure returns (bytes32) {
        return keccak256(abi.encode(REQUIRE_TYPEHASH, composeHash, keccak256(abi.encodePacked(list))));
    }

    function requireOwners(bytes32 composeHash, address[] calldata list) external {
        _requireOwners(composeHash, list, msg.sender);
    }

    function requireOwnersBySig(bytes32 composeHash, address[] calldata list, address signer, bytes calldata sig)
        external
    {
        _checkSig(requireOwnersHash(composeHash, list), signer, sig);
        _requireOwners(composeHash, list, signer);
    }

    // ---- revocation and freeze --------------------------------------------------
    function _revoke(bytes32 composeHash, address who) internal {
        uint256 i = _requireOwner(who);
        require(!frozen, "denied: app is frozen");
        require(revokedBy[composeHash] == address(0), "state: compose hash already revoked");
        revokedBy[composeHash] = who;
        revokedById[composeHash] = owners[i].id;
        revokedAt[composeHash] = block.number;
        emit Revoked(composeHash, who);
        emit ComposeHashRemoved(composeHash);
    }

    function revoke(bytes32 composeHash) external {
        _revoke(composeHash, msg.sender);
    }

    function revokeBySig(bytes32 composeHash, address signer, bytes calldata sig) external {
        _checkSig(keccak256(abi.encode(REVOKE_TYPEHASH, composeHash)), signer, sig);
        _revoke(composeHash, signer);
    }

    function _freeze(bytes32 reason, address who) internal {
        uint256 i = _requireOwner(who);
        require(!frozen, "state: app already frozen");
        frozen = true;
        frozenBy = who;
        frozenById = owners[i].id;
        frozenAt = block.number;
        frozenReason = reason;
        emit Frozen(who, reason);
    }

    function freeze(bytes32 reason) external {
        _freeze(reason, msg.sender);
    }

    function freezeBySig(bytes32 reason, address signer, bytes calldata sig) external {
        _checkSig(keccak256(abi.encode(FREEZE_TYPEHASH, reason)), signer, sig);
        _freeze(reason, signer);
    }

    // ---- owner changes (k votes of current owners) ------------------------------
    function _voteChange(Owner[] memory owners_, uint256 threshold_, uint256 nonce, bytes32 proposal, address who)
        internal
        returns (bool applied)
    {
        _requireOwner(who);
        require(!frozen, "denied: app is frozen");
        require(nonce == configNonce, "state: owner change nonce is stale");
        _validateOwners(owners_, threshold_);
        require(!changeVoted[proposal][who], "state: signer already voted for this owner change");
        changeVoted[proposal][who] = true;
        emit OwnerChangeVoted(proposal, who, nonce);
        uint256 votes = 0;
        for (uint256 i = 0; i < owners.length; i++) {
            if (changeVoted[proposal][owners[i].addr]) votes++;
        }
        if (votes >= threshold) {
            _setOwners(owners_, threshold_);
            configNonce = nonce + 1;
            emit OwnersChanged(configNonce, threshold_, owners_.length);
            return true;
        }
        return false;
    }

    function changeOwners(Owner[] calldata owners_, uint256 threshold_, uint256 nonce) external returns (bool) {
        bytes32 proposal = changeOwnersHash(owners_, threshold_, nonce);
        return _voteChange(owners_, threshold_, nonce, proposal, msg.sender);
    }

    function changeOwnersBySig(
        Owner[] calldata owners_,
        uint256 threshold_,
        uint256 nonce,
        address signer,
        bytes calldata sig
    ) external returns (bool) {
        bytes32 proposal = changeOwnersHash(owners_, threshold_, nonce);
        _checkSig(proposal, signer, sig);
        return _voteChange(owners_, threshold_, nonce, proposal, signer);
    }

    // ---- dstack app-auth interface ---------------------------------------------
    // ERC-165: IAppAuth and ERC-165 itself.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IAppAuth).interfaceId || interfaceId == 0x01ffc9a7;
    }

    function isAppAllowed(AppBootInfo calldata bootInfo)
        external
        view
        override
        returns (bool isAllowed, string memory reason)
    {
        if (bootInfo.appId != address(this)) return (false, "wrong app id");
        return _decide(bootInfo.composeHash);
    }
}
