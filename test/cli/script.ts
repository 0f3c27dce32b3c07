// The scripted zkCli session the comparison test runs through zkCli.sh and `zkts cli`. "R" at the start of a path
// stands for the run's own root node (each run works under a fresh one, so both start from the same state);
// "SERVER" for the server's connect string.
export const SESSION_SCRIPT = `
create R root
create R/a hello
create R/a again
create R/nochild/x
create -c -s R/x
create -t abc R/t
create -t 5000 -e R/t
create -t 0 R/t0
create -x R/q
create
create R/acl1 d world:anyone:r
create R/acl2 d foo:bar
create R/acl3 d digest:a:b:cdrwaz
create -s R/seq-
create -s R/seq- data
create -e R/eph
create -s -e R/eph-
create R/eph/child
create bad
create R/trailing/
create R/d
create R/"quoted data" 'a b c'
get R/acl3
getAcl R/acl3
getAcl R/acl1
getAcl -s R/a
ls
ls R
ls -s R/a
ls -R R
ls R/zz
ls R/a watch
get R/a watch
get -s R/a
get R/nope
get
get R/d
set R/a
set R/a x y
set -s R/a newdata
set -v 99 R/a q
set -s -v 2 R/a v3
delete R/nope
delete -v 5 R/d
delete R/d 5
delete R
delete
stat R/a
stat R/a w
stat R/nope
stat -w R/nope
stat
sync R/a
sync
setquota -n 5 R/a
setquota R/a
setquota -n 0 R/a
setquota -n x R/a
setquota -b 100 R/a
setquota -N 5 -B 10 R/a
setquota -N 1 R/a
create R/a/q1
create R/a/q2
listquota R/a
setquota -n 2 R/a/q1
setquota -n 2 R
listquota R/nope
delquota -n R/a
listquota R/a
delquota R/a
delquota R/a
listquota R/a
setquota -n 3 R/nope
setquota -n 3 /zookeeper/quota/x
addWatch R/a
addWatch -m bogus R/a
addWatch -m persistent R/a/q1
addWatch
set R/a/q1 changed
create R/a/q1/d
removewatches R/a/q1 -d
removewatches R/a
removewatches R/a
removewatches R/nope -d
get -w R/a
ls -w R/a
stat -w R/a/q2
removewatches R/a -c
removewatches R/a -d
removewatches R/a/q2 -a
getEphemerals
getEphemerals R
getAllChildrenNumber R
getAllChildrenNumber
getAllChildrenNumber R/nope
whoami
addauth digest u:p
whoami
addauth
create R/auth x auth:u:p:cdrwa
getAcl R/auth
setAcl -s R/auth world:anyone:r
setAcl -v 5 R/auth world:anyone:r
setAcl R/nope world:anyone:r
setAcl R/auth
setAcl R/acl1 foo
setAcl -R R/a world:anyone:cdrwa
getAcl R/a/q1
config
reconfig
reconfig -remove 3 -members x
printwatches
printwatches off
set R/a/q1 silent
printwatches on
history
redo 0
redo 999
redo
bogus
deleteall
deleteall R/a -b x
deleteall R/acl1
deleteall R/nope
ls R
close
ls R
connect SERVER
ls R
sync R
quit
`.split('\n').filter((l) => l !== '');
